package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kemudi/kemudi/internal/storage/encryption"
)

// DefaultEncryptionConfig is where the server keeps the encryption
// configuration it generates when --encryption-provider-config is not
// given: secrets sealed with a secretbox key of its own, and the identity
// provider second so that secrets a server stored in the clear before
// (an older data dir) still read.
func DefaultEncryptionConfig(dataDir string) string {
	return filepath.Join(dataDir, "tls", "encryption-config.yaml")
}

// loadEncryption reads the configuration at path, or, with path empty,
// the default one, generating its key on first start. The default one is
// always followed as it changes (`kemudi secrets-encrypt` rewrites it);
// a configured one when reload says so, as upstream's
// --encryption-provider-config-automatic-reload. The Reloader is nil when
// the file is read once.
func loadEncryption(path, dataDir string, reload bool, log *slog.Logger) (encryption.Transformers, *encryption.Reloader, error) {
	if path == "" {
		if reload {
			return nil, nil, errors.New("--encryption-provider-config-automatic-reload must be set with --encryption-provider-config")
		}
		path = DefaultEncryptionConfig(dataDir)
		if err := ensureEncryptionConfig(path); err != nil {
			return nil, nil, err
		}
		reload = true
	}
	if !reload {
		t, err := encryption.LoadConfig(path)
		return t, nil, err
	}
	host, _ := os.Hostname()
	r, err := encryption.NewReloader(path, host, log)
	if err != nil {
		return nil, nil, err
	}
	return r, r, nil
}

// encryptionReloadInterval is how often the server reads the encryption
// configuration's file for changes.
const encryptionReloadInterval = 2 * time.Second

func ensureEncryptionConfig(path string) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate the encryption key: %w", err)
	}
	cfg := fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - secretbox:
      keys:
      - name: key1
        secret: %s
  - identity: {}
`, base64.StdEncoding.EncodeToString(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("write the encryption configuration: %w", err)
	}
	return os.Rename(tmp, path)
}

// encryptionMetrics are the reload metrics of r, if the file is followed.
func encryptionMetrics(r *encryption.Reloader) []prometheus.Collector {
	if r == nil {
		return nil
	}
	return r.Collectors()
}
