package encryption

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reloader is the configuration in a file, read again when the file
// changes (upstream's --encryption-provider-config-automatic-reload), so
// that a new key can be put first, or an old one dropped, without a
// restart. A file that no longer parses keeps the configuration in use.
type Reloader struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[loaded]

	reloads  *prometheus.CounterVec
	lastTime *prometheus.GaugeVec
	info     *prometheus.GaugeVec
	// serverID labels the metrics as upstream's apiserver_id_hash does.
	serverID string
	// lastErr is the last reload's error; only Run's goroutine uses it.
	lastErr string
}

// loaded is one parsed version of the file.
type loaded struct {
	static Static
	hash   string
	data   []byte
}

// NewReloader reads the configuration at path, failing as LoadConfig
// does. serverID names this API server in the metrics.
func NewReloader(path, serverID string, log *slog.Logger) (*Reloader, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("error reading encryption provider configuration file %q: %w", path, err)
	}
	t, err := ParseConfig(data, path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(serverID))
	r := &Reloader{
		path:     path,
		log:      log,
		serverID: "sha256:" + hex.EncodeToString(sum[:]),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_encryption_config_controller_automatic_reloads_total",
			Help: "Total number of reload successes and failures of encryption configuration split by apiserver identity.",
		}, []string{"status", "apiserver_id_hash"}),
		lastTime: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_encryption_config_controller_automatic_reload_last_timestamp_seconds",
			Help: "Timestamp of the last successful or failed automatic reload of encryption configuration split by apiserver identity.",
		}, []string{"status", "apiserver_id_hash"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_encryption_config_controller_last_config_info",
			Help: "Information about the last applied encryption configuration with hash as label, split by apiserver identity.",
		}, []string{"apiserver_id_hash", "hash"}),
	}
	r.set(&loaded{static: t, hash: ConfigHash(data), data: data})
	return r, nil
}

// ConfigHash is how the metrics name a configuration: the sha256 of the
// file's bytes, as upstream's last_config_info label.
func ConfigHash(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (r *Reloader) set(l *loaded) {
	if old := r.cur.Swap(l); old != nil {
		r.info.DeleteLabelValues(r.serverID, old.hash)
	}
	r.info.WithLabelValues(r.serverID, l.hash).Set(1)
}

// For implements Transformers with the configuration in use.
func (r *Reloader) For(group, resource string) Transformer {
	return r.cur.Load().static.For(group, resource)
}

// Hash is the hash of the configuration in use.
func (r *Reloader) Hash() string { return r.cur.Load().hash }

// Collectors are upstream's reload metrics, for the API server's /metrics.
func (r *Reloader) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.reloads, r.lastTime, r.info}
}

// Run reads the file every interval until ctx ends and swaps in a
// configuration that changed and parses. Upstream polls once a minute;
// a file is small, so reading it more often costs nothing and lets
// `kemudi secrets-encrypt` wait seconds, not a minute.
func (r *Reloader) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.reload()
		}
	}
}

// reload reads the file once; it reports whether the configuration
// changed.
func (r *Reloader) reload() bool {
	data, err := os.ReadFile(r.path)
	if err == nil && bytes.Equal(data, r.cur.Load().data) {
		return false
	}
	now := float64(time.Now().Unix())
	var t Static
	if err == nil {
		t, err = ParseConfig(data, r.path)
	}
	if err != nil {
		r.reloads.WithLabelValues("failure", r.serverID).Inc()
		r.lastTime.WithLabelValues("failure", r.serverID).Set(now)
		// Logged once per new error, not on every poll.
		if err.Error() != r.lastErr {
			r.lastErr = err.Error()
			r.log.Error("encryption configuration not reloaded; the one in use stays", "path", r.path, "err", err)
		}
		return false
	}
	r.lastErr = ""
	r.set(&loaded{static: t, hash: ConfigHash(data), data: data})
	r.reloads.WithLabelValues("success", r.serverID).Inc()
	r.lastTime.WithLabelValues("success", r.serverID).Set(now)
	r.log.Info("encryption configuration reloaded", "path", r.path, "hash", ConfigHash(data))
	return true
}
