package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestLocalSocket: an in-process component's config reaches the API on
// a socket only root can open, works without TLS, and the socket is gone
// once the server stops.
func TestLocalSocket(t *testing.T) {
	s := clustertest.Start(t)
	cfg, ok, err := s.LocalConfig("probe", "system:probe", nil)
	if err != nil || !ok {
		t.Fatalf("local config: ok=%v err=%v", ok, err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The socket's connections are its identity: what the API answers
	// is for system:probe, which may ask who it is and nothing more.
	who, err := c.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || who.Status.UserInfo.Username != "system:probe" {
		t.Fatalf("who the socket is: %+v %v", who, err)
	}
	if _, err := c.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("get through the socket as system:probe: %v", err)
	}
	dir := filepath.Join(s.DataDir, "run")
	socks, err := filepath.Glob(filepath.Join(dir, "probe-*.sock"))
	if err != nil || len(socks) != 1 {
		t.Fatalf("sockets %v: %v", socks, err)
	}
	for path, want := range map[string]os.FileMode{dir: os.ModeDir | 0o700, socks[0]: os.ModeSocket | 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	// A socket path Linux cannot take is no error: the component uses
	// its certificate over TLS instead.
	if _, ok, err := s.LocalConfig(strings.Repeat("x", 120), "system:probe", nil); ok || err != nil {
		t.Errorf("over-long socket path: ok=%v err=%v, want neither", ok, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(socks[0]); !os.IsNotExist(err) {
		t.Errorf("socket left after stop: %v", err)
	}
}
