package storage

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// Embedded is an etcd server running inside this process. It listens on no
// socket: the API server talks to it through an in-process client, so two
// servers on one machine (as in tests) never collide on ports.
type Embedded struct {
	etcd   *embed.Etcd
	client *clientv3.Client
}

// StartEmbedded starts a single-member etcd with its data in dir and waits
// until it can serve.
func StartEmbedded(ctx context.Context, dir string, log *slog.Logger) (*Embedded, error) {
	cfg := embed.NewConfig()
	cfg.Name = "kemudi"
	cfg.Dir = filepath.Clean(dir)
	// A single member needs no peer or client listener; the advertised
	// URLs only name the member in its own cluster membership.
	cfg.ListenPeerUrls, cfg.ListenClientUrls, cfg.ListenClientHttpUrls = nil, nil, nil
	cfg.AdvertisePeerUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:2380"}}
	cfg.AdvertiseClientUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:2379"}}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Fewer raft entries kept in memory between snapshots: the default of
	// 10,000 costs tens of MiB for nothing in a single-member cluster.
	cfg.SnapshotCount = 5000
	cfg.SnapshotCatchUpEntries = 1000
	cfg.WatchProgressNotifyInterval = 5 * time.Second
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s: not ready after 60s", dir)
	}
	log.Info("embedded etcd ready", "dir", dir)
	return &Embedded{etcd: e, client: v3client.New(e.Server)}, nil
}

// Client returns the in-process client.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Close stops etcd after its pending writes are on disk.
func (e *Embedded) Close() {
	e.client.Close()
	e.etcd.Close()
}

// Connect dials an external etcd cluster.
func Connect(ctx context.Context, endpoints []string, tlsConfig *tls.Config) (*clientv3.Client, error) {
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		TLS:         tlsConfig,
		DialTimeout: 10 * time.Second,
		Context:     ctx,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := client.Status(sctx, endpoints[0]); err != nil {
		client.Close()
		return nil, fmt.Errorf("etcd %s: %w", endpoints[0], err)
	}
	return client, nil
}
