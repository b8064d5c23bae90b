package dns

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestUpstreamsFromResolvConf(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte("search example.org\nnameserver 192.0.2.53\nnameserver fd00::53\noptions ndots:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := upstreamsFromResolvConf(p)
	if err != nil || !slices.Equal(got, []string{"192.0.2.53:53", "[fd00::53]:53"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("search example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := upstreamsFromResolvConf(p); err == nil {
		t.Fatal("a resolv.conf without nameservers is accepted")
	}
}
