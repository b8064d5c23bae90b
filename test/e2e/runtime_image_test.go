package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/testimages"
)

// kemudiImage runs `kemudi image ...` against the node's runtime with
// DOCKER_CONFIG=dockerConfig and stdin, and returns stdout, stderr and
// whether it exited 0.
func (n *runtimeNode) kemudiImage(dockerConfig, stdin string, args ...string) (string, string, bool) {
	n.t.Helper()
	cmd := exec.Command(n.bin, append([]string{"image", "--runtime-endpoint", n.sock}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		n.t.Fatalf("kemudi image %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), err == nil
}

// TestRuntimeImageLoginPushPull: the tutorial's registry steps with kemudi
// alone: log in (a wrong password is refused and nothing stored), push
// an image of the runtime's store, remove it, pull it back with the
// stored login and run it through the CRI; tag, save and import round
// trip; logout forgets the login.
func TestRuntimeImageLoginPushPull(t *testing.T) {
	t.Parallel()
	n := newRuntimeNode(t)
	private := registryIn(t, n.netnsPath, testimages.BasicAuth("alifah", "s3cret"))
	t.Cleanup(private.Close)
	cfgDir := t.TempDir()
	cfgFile := filepath.Join(cfgDir, "config.json")
	img := func(args ...string) string {
		t.Helper()
		out, errOut, ok := n.kemudiImage(cfgDir, "", args...)
		if !ok {
			t.Fatalf("kemudi image %s failed:\n%s%s\nruntime log:\n%s", strings.Join(args, " "), out, errOut, n.proc.Tail())
		}
		return out
	}
	ref := private.Ref("alifah/busybox:1")
	img("pull", n.registry.Ref("busybox:1"))
	img("tag", n.registry.Ref("busybox:1"), ref)

	// A push before any login is refused by the registry.
	if _, errOut, ok := n.kemudiImage(cfgDir, "", "push", ref); ok || !strings.Contains(errOut, "unauthorized") {
		t.Errorf("push without login: ok=%v stderr %q, want unauthorized", ok, errOut)
	}
	// A wrong password: unauthorized, non-zero, nothing stored.
	out, errOut, ok := n.kemudiImage(cfgDir, "wrong\n", "login", private.Host, "-u", "alifah", "--password-stdin")
	if ok || !strings.Contains(errOut, "unauthorized") {
		t.Errorf("login with a wrong password: ok=%v stdout %q stderr %q", ok, out, errOut)
	}
	if _, err := os.Stat(cfgFile); !os.IsNotExist(err) {
		t.Errorf("config.json after a refused login: %v", err)
	}
	// The right one: stored as docker stores it, readable by root only.
	out, errOut, ok = n.kemudiImage(cfgDir, "s3cret\n", "login", private.Host, "-u", "alifah", "--password-stdin")
	if !ok || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("login: ok=%v stdout %q stderr %q", ok, out, errOut)
	}
	var cfg struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	b, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("config.json: %v\n%s", err, b)
	}
	if got, want := cfg.Auths[private.Host].Auth, base64.StdEncoding.EncodeToString([]byte("alifah:s3cret")); got != want {
		t.Errorf("config.json auths[%s].auth = %q, want %q", private.Host, got, want)
	}
	if fi, err := os.Stat(cfgFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	out = img("push", ref)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	pushed := lines[len(lines)-1]
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(private.Ref("alifah/busybox")) + `@sha256:[0-9a-f]{64}$`).MatchString(pushed) {
		t.Fatalf("push printed %q, want NAME@sha256:...", out)
	}

	// skopeo (containers/image) finds the login in the same file.
	if skopeo, err := exec.LookPath("skopeo"); err == nil {
		cmd := exec.Command("nsenter", "--net="+n.netnsPath, skopeo, "inspect", "--tls-verify=false", "docker://"+ref)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_RUNTIME_DIR=" + t.TempDir(), "DOCKER_CONFIG=" + cfgDir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("skopeo inspect with kemudi's login: %v\n%s", err, out)
		} else if _, digest, _ := strings.Cut(pushed, "@"); !strings.Contains(string(out), digest) {
			t.Errorf("skopeo inspect does not show the pushed digest %s:\n%s", digest, out)
		}
	}

	// save → rm → import: the image comes back with its tag, both formats.
	for _, format := range []string{"docker-archive", "oci-archive"} {
		archive := filepath.Join(t.TempDir(), "saved.tar")
		img("save", "--format", format, "-o", archive, ref)
		img("rm", ref)
		if out := img("ls"); strings.Contains(out, ref) {
			t.Fatalf("%s: image still listed after rm:\n%s", format, out)
		}
		if out := img("import", archive); !strings.Contains(out, ref) {
			t.Errorf("%s: import of the saved archive: %q", format, out)
		}
	}

	// Gone from the node, then pulled back from the registry with the
	// stored login, and run.
	img("rm", ref)
	if out := img("ls"); strings.Contains(out, private.Host) {
		t.Fatalf("image still listed after rm:\n%s", out)
	}
	if out := img("pull", pushed); !strings.Contains(out, "sha256:") {
		t.Errorf("pull by digest: %q", out)
	}
	img("pull", ref)
	files := n.podAndContainer("pushed")
	var ctr map[string]any
	b, _ = os.ReadFile(files.ctr)
	json.Unmarshal(b, &ctr)
	ctr["image"] = map[string]any{"image": ref}
	files.ctr = n.writeJSON("pushed-ctr.json", ctr)
	pod := strings.TrimSpace(n.crictl("runp", files.pod))
	c := strings.TrimSpace(n.crictl("create", pod, files.ctr, files.pod))
	n.crictl("start", c)
	eventually(t, 30*time.Second, "the pulled image's container logs", func() (bool, string) {
		out, _ := n.tryCrictl("logs", c)
		return strings.Contains(out, "hello from pushed"), out
	})
	n.crictl("stop", "-t", "10", c)
	n.crictl("rmp", "-f", pod)

	// logout forgets the login: a pull of what is not on the node fails.
	if out := img("logout", private.Host); !strings.Contains(out, "Removing login credentials") {
		t.Errorf("logout: %q", out)
	}
	img("rm", ref)
	if _, errOut, ok := n.kemudiImage(cfgDir, "", "pull", ref); ok || !strings.Contains(errOut, "unauthorized") {
		t.Errorf("pull after logout: ok=%v stderr %q, want unauthorized", ok, errOut)
	}
}
