package registry_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/testimages"
)

// clientEnv is a throwaway configuration for containers/image clients:
// the registry's CA in a certs.d-style dir, an auth file, an empty
// registries.conf, podman's storage; nothing of the host's is read or
// written but its policy.json.
type clientEnv struct {
	certDir, authFile, root string
	env                     []string
}

func newClientEnv(t *testing.T, r *testRegistry) *clientEnv {
	dir := t.TempDir()
	c := &clientEnv{certDir: filepath.Join(dir, "certs"), authFile: filepath.Join(dir, "auth.json"), root: dir}
	ca, err := os.ReadFile(r.layout.CA)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(c.certDir, 0o700)
	if err := os.WriteFile(filepath.Join(c.certDir, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	regConf := filepath.Join(dir, "registries.conf")
	os.WriteFile(regConf, []byte("unqualified-search-registries = []\n"), 0o644)
	c.env = append(os.Environ(), "REGISTRY_AUTH_FILE="+c.authFile, "CONTAINERS_REGISTRIES_CONF="+regConf, "TMPDIR="+dir)
	return c
}

func (c *clientEnv) run(t *testing.T, stdin string, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// podman runs podman with its storage in the test's temp dir.
func (c *clientEnv) podman(t *testing.T, stdin string, args ...string) (string, error) {
	base := []string{"--root", filepath.Join(c.root, "storage"), "--runroot", filepath.Join(c.root, "run"),
		"--tmpdir", filepath.Join(c.root, "tmp"), "--storage-driver", "vfs", "--events-backend", "none", "--cgroup-manager", "cgroupfs"}
	return c.run(t, stdin, testimages.Tool(t, "podman", "podman"), append(base, args...)...)
}

// TestSkopeoCopyInAndOut: skopeo pushes an OCI archive to the registry
// and copies it back out, verifying TLS against the cluster CA.
func TestSkopeoCopyInAndOut(t *testing.T) {
	skopeo := testimages.Tool(t, "skopeo", "skopeo")
	r := startRegistry(t)
	c := newClientEnv(t, r)
	img, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(c.root, "busybox.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := testimages.OCIArchive(f, map[string]v1Image{"busybox:1": img}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ref := "docker://" + r.host + "/alifah/busybox:1"
	creds := "admin:" + r.password
	if out, err := c.run(t, "", skopeo, "copy", "--dest-cert-dir", c.certDir, "--dest-creds", creds, "oci-archive:"+archive, ref); err != nil {
		t.Fatalf("skopeo copy in: %v\n%s", err, out)
	}
	out, err := c.run(t, "", skopeo, "inspect", "--cert-dir", c.certDir, "--creds", creds, ref)
	want, _ := img.Digest()
	if err != nil || !strings.Contains(out, want.String()) {
		t.Fatalf("skopeo inspect: %v, want digest %s in\n%s", err, want, out)
	}
	back := filepath.Join(c.root, "back")
	if out, err := c.run(t, "", skopeo, "copy", "--src-cert-dir", c.certDir, "--src-creds", creds, ref, "oci:"+back+":busybox"); err != nil {
		t.Fatalf("skopeo copy out: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(back, "index.json")); err != nil {
		t.Fatalf("copied-out layout: %v", err)
	}
	out, err = c.run(t, "", skopeo, "inspect", "--cert-dir", c.certDir, "--creds", "admin:wrong", ref)
	if err == nil || !strings.Contains(strings.ToLower(out), "unauthorized") {
		t.Fatalf("skopeo inspect with a wrong password: %v\n%s", err, out)
	}
}

// TestPodmanLoginPullPush: podman logs in (TLS verified against the
// cluster CA), pulls, pushes to another repository; a wrong password
// says unauthorized.
func TestPodmanLoginPullPush(t *testing.T) {
	r := startRegistry(t)
	c := newClientEnv(t, r)
	testimages.Tool(t, "podman", "podman")
	out, err := c.podman(t, "wrong\n", "login", "--cert-dir", c.certDir, "--authfile", c.authFile, "-u", "admin", "--password-stdin", r.host)
	// podman's words for the token endpoint's 401.
	if err == nil || !strings.Contains(out, "invalid username/password") {
		t.Fatalf("podman login with a wrong password: %v\n%s", err, out)
	}
	out, err = c.podman(t, r.password+"\n", "login", "--cert-dir", c.certDir, "--authfile", c.authFile, "-u", "admin", "--password-stdin", r.host)
	if err != nil || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("podman login: %v\n%s", err, out)
	}
	img, _ := testimages.Busybox()
	ref := r.host + "/alifah/busybox:1"
	if err := pushAsAdmin(r, ref, img); err != nil {
		t.Fatal(err)
	}
	if out, err := c.podman(t, "", "pull", "--cert-dir", c.certDir, "--authfile", c.authFile, ref); err != nil {
		t.Fatalf("podman pull: %v\n%s", err, out)
	}
	copyRef := r.host + "/alifah/copy:1"
	if out, err := c.podman(t, "", "tag", ref, copyRef); err != nil {
		t.Fatalf("podman tag: %v\n%s", err, out)
	}
	if out, err := c.podman(t, "", "push", "--cert-dir", c.certDir, "--authfile", c.authFile, copyRef); err != nil {
		t.Fatalf("podman push: %v\n%s", err, out)
	}
	out, err = c.podman(t, "", "push", "--cert-dir", c.certDir, "--creds", "admin:wrong", copyRef, r.host+"/alifah/denied:1")
	if err == nil || !strings.Contains(strings.ToLower(out), "unauthorized") {
		t.Fatalf("podman push with a wrong password: %v\n%s", err, out)
	}
	t.Logf("podman push with a wrong password says:\n%s", out)
	c2 := r.client()
	tok, _ := r.token(t, c2, "admin", r.password, "repository:alifah/copy:pull")
	if resp := do(t, c2, "HEAD", "https://"+r.host+"/v2/alifah/copy/manifests/1", tok, nil); resp.StatusCode != 200 {
		t.Fatalf("the image podman pushed: %s", resp.Status)
	}
}
