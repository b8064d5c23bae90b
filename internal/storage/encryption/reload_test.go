package encryption

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestReloaderFollowsTheFile: a new key put first is written with at
// once, values sealed with the old key still read, and a file that no
// longer parses keeps the configuration in use; the metrics say which
// configuration is in use and how reloads went.
func TestReloaderFollowsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "enc.yaml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	first := config("  - secretbox: {keys: [{name: key1, secret: " + keyA + "}]}\n")
	write(first)
	r, err := NewReloader(path, "server-1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Collectors()...)
	const key = "/registry/secrets/default/s"
	old, err := r.For("", "secrets").Encrypt(key, []byte("v1"))
	if err != nil || !bytes.HasPrefix(old, []byte("k8s:enc:secretbox:v1:key1:")) {
		t.Fatalf("first key: %q %v", old, err)
	}
	if r.reload() {
		t.Error("reloaded an unchanged file")
	}

	rotated := config("  - secretbox: {keys: [{name: key2, secret: " + keyB + "}, {name: key1, secret: " + keyA + "}]}\n")
	write(rotated)
	if !r.reload() {
		t.Fatal("a changed file was not reloaded")
	}
	if r.Hash() != ConfigHash([]byte(rotated)) {
		t.Errorf("hash %s, want the rotated file's", r.Hash())
	}
	sealed, err := r.For("", "secrets").Encrypt(key, []byte("v2"))
	if err != nil || !bytes.HasPrefix(sealed, []byte("k8s:enc:secretbox:v1:key2:")) {
		t.Fatalf("after reload: %q %v", sealed, err)
	}
	plain, stale, err := r.For("", "secrets").Decrypt(key, old)
	if err != nil || string(plain) != "v1" || !stale {
		t.Errorf("old value: %q stale=%v %v", plain, stale, err)
	}

	write("kind: nonsense\n")
	if r.reload() {
		t.Error("reloaded a bad file")
	}
	if r.Hash() != ConfigHash([]byte(rotated)) {
		t.Error("a bad file replaced the configuration in use")
	}
	if _, err := r.For("", "secrets").Encrypt(key, []byte("v3")); err != nil {
		t.Error(err)
	}
	want := `
# HELP apiserver_encryption_config_controller_automatic_reloads_total Total number of reload successes and failures of encryption configuration split by apiserver identity.
# TYPE apiserver_encryption_config_controller_automatic_reloads_total counter
apiserver_encryption_config_controller_automatic_reloads_total{apiserver_id_hash="ID",status="failure"} 1
apiserver_encryption_config_controller_automatic_reloads_total{apiserver_id_hash="ID",status="success"} 1
# HELP apiserver_encryption_config_controller_last_config_info Information about the last applied encryption configuration with hash as label, split by apiserver identity.
# TYPE apiserver_encryption_config_controller_last_config_info gauge
apiserver_encryption_config_controller_last_config_info{apiserver_id_hash="ID",hash="HASH"} 1
`
	want = strings.NewReplacer("ID", r.serverID, "HASH", ConfigHash([]byte(rotated))).Replace(want)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"apiserver_encryption_config_controller_automatic_reloads_total",
		"apiserver_encryption_config_controller_last_config_info"); err != nil {
		t.Error(err)
	}
}

// TestReloaderRefusesABadFirstFile: at start a bad file is an error, as
// LoadConfig's.
func TestReloaderRefusesABadFirstFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "enc.yaml")
	if err := os.WriteFile(path, []byte(config("  - aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReloader(path, "s", slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "secret is not of the expected length") {
		t.Errorf("err %v", err)
	}
}
