package cluster_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/storage"
)

// etcdValue reads key from a stopped server's embedded etcd directly.
func etcdValue(t *testing.T, dataDir, key string) []byte {
	t.Helper()
	ctx := context.Background()
	e, err := storage.StartEmbedded(ctx, filepath.Join(dataDir, "etcd"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	resp, err := e.Client().Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v %v", key, resp, err)
	}
	return resp.Kvs[0].Value
}

// TestSecretsEncryptedAtRest stores secrets and reads etcd directly: with
// the generated key and with a configured aesgcm key, no plaintext is
// there, each value carries upstream's prefix, and a restarted server
// reads them back.
func TestSecretsEncryptedAtRest(t *testing.T) {
	const plaintext = "hunter2-plaintext"
	configured := filepath.Join(t.TempDir(), "enc.yaml")
	if err := os.WriteFile(configured, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm:
      keys:
      - name: key1
        secret: YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=
  - identity: {}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, config, prefix string
	}{
		{"generated key", "", "k8s:enc:secretbox:v1:key1:"},
		{"configured aesgcm", configured, "k8s:enc:aesgcm:v1:key1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.EncryptionProviderConfig = tc.config })
			ctx := context.Background()
			if _, err := s.Client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": plaintext},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Data: map[string]string{"k": plaintext},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := s.Server.Stop(); err != nil {
				t.Fatal(err)
			}
			secret := etcdValue(t, s.DataDir, "/registry/secrets/default/db")
			if !bytes.HasPrefix(secret, []byte(tc.prefix)) || bytes.Contains(secret, []byte(plaintext)) || bytes.Contains(secret, []byte("password")) {
				t.Errorf("secret in etcd: %q", secret[:min(len(secret), 64)])
			}
			// Only the configured resources are encrypted.
			if cm := etcdValue(t, s.DataDir, "/registry/configmaps/default/plain"); !bytes.Contains(cm, []byte(plaintext)) {
				t.Errorf("config map encrypted: %q", cm[:min(len(cm), 64)])
			}
			s.Restart()
			got, err := s.Client.CoreV1().Secrets("default").Get(ctx, "db", metav1.GetOptions{})
			if err != nil || string(got.Data["password"]) != plaintext {
				t.Errorf("after restart: %v %v", got, err)
			}
		})
	}
}

// TestBadEncryptionConfigRefusesToStart: a key of the wrong size stops
// the server before it serves, naming the field.
func TestBadEncryptionConfigRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "enc.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm:
      keys:
      - name: key1
        secret: c2hvcnQ=
`), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := cluster.DefaultServerOptions()
	opts.DataDir, opts.BindAddress, opts.Port = filepath.Join(dir, "data"), "127.0.0.1", 0
	opts.EncryptionProviderConfig = path
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := cluster.StartServer(context.Background(), opts)
	if err == nil {
		s.Stop()
		t.Fatal("started with a 5-byte AES key")
	}
	want := `resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "REDACTED": secret is not of the expected length, got 5, expected one of [16 24 32]`
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "etcd")); err == nil {
		t.Error("etcd was started")
	}
}
