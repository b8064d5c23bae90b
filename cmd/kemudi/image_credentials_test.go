package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestRegistryHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:5000", "127.0.0.1:5000"},
		{"https://127.0.0.1:5000/", "127.0.0.1:5000"},
		{"http://localhost:5000/v2/", "localhost:5000"},
		{"docker.io", "docker.io"},
		{"index.docker.io", "docker.io"},
		{"registry-1.docker.io", "docker.io"},
		{"registry.example.com", "registry.example.com"},
	} {
		got, err := registryHost(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("registryHost(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "https://", "Bad Host:x"} {
		if got, err := registryHost(bad); err == nil {
			t.Errorf("registryHost(%q) = %q, want an error", bad, got)
		}
	}
}

// The credentials file is Docker's: what kemudi stores, go-containerregistry's
// DefaultKeychain (crane, ko) reads; other keys of the file survive.
func TestCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("HOME", t.TempDir()) // no ~/.docker/config.json in the way
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, []byte(`{"auths":{"other.example":{"auth":"b3RoZXI6cHc="}},"psFormat":"table"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := storeCredentials("127.0.0.1:5000", "alifah", "s3cret"); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths    map[string]map[string]string `json:"auths"`
		PsFormat string                       `json:"psFormat"`
	}
	b, _ := os.ReadFile(file)
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if got, want := cfg.Auths["127.0.0.1:5000"]["auth"], base64.StdEncoding.EncodeToString([]byte("alifah:s3cret")); got != want {
		t.Errorf("auth %q, want %q (file %s)", got, want, b)
	}
	if cfg.Auths["other.example"]["auth"] == "" || cfg.PsFormat != "table" {
		t.Errorf("other settings lost: %s", b)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}

	got, err := credentialsFor("127.0.0.1:5000/alifah/app:1")
	if err != nil || got == nil || got.Username != "alifah" || got.Password != "s3cret" || got.ServerAddress != "127.0.0.1:5000" {
		t.Errorf("credentialsFor = %+v, %v", got, err)
	}
	reg, _ := name.NewRegistry("127.0.0.1:5000")
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	if ac, _ := a.Authorization(); ac.Username != "alifah" || ac.Password != "s3cret" {
		t.Errorf("go-containerregistry's keychain reads %+v", ac)
	}
	if got, err := credentialsFor("127.0.0.1:6000/app:1"); err != nil || got != nil {
		t.Errorf("another registry: %+v, %v; want none", got, err)
	}

	had, err := eraseCredentials("127.0.0.1:5000")
	if err != nil || !had {
		t.Fatalf("erase: %v %v", had, err)
	}
	if got, _ := credentialsFor("127.0.0.1:5000/alifah/app:1"); got != nil {
		t.Errorf("after logout: %+v", got)
	}
	if had, err := eraseCredentials("127.0.0.1:5000"); err != nil || had {
		t.Errorf("second logout: %v %v, want not logged in", had, err)
	}
}

func TestProgressReporter(t *testing.T) {
	var buf strings.Builder
	report := progressReporter(&buf, "pushing x")
	for _, p := range [][2]int64{{0, 10 << 20}, {1 << 20, 10 << 20}, {10 << 20, 10 << 20}, {10 << 20, 10 << 20}} {
		report(p[0], p[1])
	}
	want := "pushing x: 0.0 MiB / 10.0 MiB\npushing x: 10.0 MiB / 10.0 MiB\n"
	if buf.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", buf.String(), want)
	}
}
