package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/storage"
)

func secretsEncrypt(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(clustertest.Binary(t), append([]string{"secrets-encrypt", "--data-dir", dataDir}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestSecretsEncryptRotateKeys rotates the generated key of a running
// server as a user would, with the kemudi binary: afterwards etcd holds
// every secret sealed with the new key, the old key is gone from the
// file, and a restarted server reads every secret back.
func TestSecretsEncryptRotateKeys(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("s%d", i)}, StringData: map[string]string{"password": "hunter2"},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := secretsEncrypt(t, s.DataDir, "status")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, want := range []string{"In use by the API server: yes", "secrets     secretbox:key1   identity"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	secrets, err := s.Client.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err = secretsEncrypt(t, s.DataDir, "rotate-keys")
	if err != nil {
		t.Fatalf("rotate-keys: %v\n%s", err, out)
	}
	for _, want := range []string{
		"secrets: new writes use secretbox:key2",
		fmt.Sprintf("secrets: %d rewritten with the new key", len(secrets.Items)),
		"old keys removed; rotation done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rotate-keys output lacks %q:\n%s", want, out)
		}
	}
	out, _ = secretsEncrypt(t, s.DataDir, "status")
	if !regexp.MustCompile(`secrets\s+secretbox:key2\s+identity\n`).MatchString(out) || !strings.Contains(out, "In use by the API server: yes") {
		t.Errorf("status after rotation:\n%s", out)
	}

	if err := s.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	values := etcdValues(t, s.DataDir, "/registry/secrets/")
	if len(values) != len(secrets.Items) {
		t.Errorf("%d secrets in etcd, %d listed", len(values), len(secrets.Items))
	}
	for key, v := range values {
		if !bytes.HasPrefix(v, []byte("k8s:enc:secretbox:v1:key2:")) {
			t.Errorf("%s sealed as %q", key, v[:min(len(v), 30)])
		}
	}
	s.Restart()
	for _, sec := range secrets.Items {
		got, err := s.Client.CoreV1().Secrets(sec.Namespace).Get(ctx, sec.Name, metav1.GetOptions{})
		if err != nil || !bytes.Equal(got.Data["password"], sec.Data["password"]) {
			t.Errorf("after restart, %s/%s: %v", sec.Namespace, sec.Name, err)
		}
	}
}

// TestSecretsEncryptRefusesAFileTheServerDoesNotFollow: a configured file
// without --encryption-provider-config-automatic-reload is read once, so
// rotate-keys changes nothing and says why.
func TestSecretsEncryptRefusesAFileTheServerDoesNotFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "enc.yaml")
	config := []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm: {keys: [{name: key1, secret: YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=}]}
`)
	if err := os.WriteFile(path, config, 0o600); err != nil {
		t.Fatal(err)
	}
	s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.EncryptionProviderConfig = path })
	out, err := secretsEncrypt(t, s.DataDir, "--encryption-provider-config", path, "rotate-keys")
	if err == nil || !strings.Contains(out, "the API server does not follow "+path+": start it with --encryption-provider-config-automatic-reload") {
		t.Errorf("rotate-keys: %v\n%s", err, out)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, config) {
		t.Errorf("the file changed:\n%s", now)
	}
}

// etcdValues reads every value under prefix from a stopped server's etcd.
func etcdValues(t *testing.T, dataDir, prefix string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	e, err := storage.StartEmbedded(ctx, filepath.Join(dataDir, "etcd"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	resp, err := e.Client().Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = kv.Value
	}
	return out
}

// TestSecretsEncryptRotatesAFollowedFile: with
// --encryption-provider-config-automatic-reload a configured file is
// followed, so rotate-keys works on it as on the generated one.
func TestSecretsEncryptRotatesAFollowedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "enc.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm: {keys: [{name: key1, secret: YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=}]}
  - identity: {}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := clustertest.Start(t, func(o *cluster.ServerOptions) {
		o.EncryptionProviderConfig = path
		o.EncryptionProviderConfigAutomaticReload = true
	})
	out, err := secretsEncrypt(t, s.DataDir, "--encryption-provider-config", path, "rotate-keys")
	if err != nil || !strings.Contains(out, "secrets: new writes use aesgcm:key2") || !strings.Contains(out, "old keys removed; rotation done") {
		t.Errorf("rotate-keys: %v\n%s", err, out)
	}
	out, _ = secretsEncrypt(t, s.DataDir, "--encryption-provider-config", path, "status")
	if !regexp.MustCompile(`secrets\s+aesgcm:key2\s+identity\n`).MatchString(out) {
		t.Errorf("status after rotation:\n%s", out)
	}
}
