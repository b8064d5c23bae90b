package e2e

import (
	"context"
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

// The seed's tutorial: its image, user and password (the user picks the
// password at `kemudi registry user add`).
const (
	tutorialImage    = "127.0.0.1:5000/alifah/python-flask:1"
	tutorialRepo     = "127.0.0.1:5000/alifah/python-flask"
	tutorialUser     = "alifah"
	tutorialPassword = "kata-sandi-alifah-123"
	tutorialPage     = "Hello World!" // what alifah-Flask/app.py answers

	// The load balancer's address comes from a pool: the seed exposes
	// port 5000, which on the node's own addresses is the embedded
	// registry's, so the local provider refuses the node's address for it
	// (SyncLoadBalancerFailed, EXTERNAL-IP <pending>).
	tutorialLBPool    = "10.99.1.10-10.99.1.19"
	tutorialLBAddress = "10.99.1.10"
)

// TestTutorial is the seed's tutorial, step by step, as a new user on a
// kemudi machine types it (kemudi's own build and push in place of
// docker's): the Python base image imported, a registry user added,
// `kemudi image build` of the seed's alifah-Flask folder, `kemudi image
// login` and `push` to the embedded registry, then `kubectl create
// deployment`, `get deployments`, `get pods`, `expose --type=LoadBalancer`,
// `get services`, `get events`, and the page opened on the NodePort and
// on the load balancer's address. The image is removed from the node
// after the push, so the kubelet pulls it from the registry with the
// node's credential.
func TestTutorial(t *testing.T) {
	t.Parallel()
	tu := newTutorial(t)

	out := tu.mustKemudi("", "image", "import", tu.base)
	tu.expect("kemudi image import", out, `python:3\.11-slim`)
	tu.addRegistryUser()

	out = tu.mustKemudi("", "image", "build", "-t", tutorialImage, "alifah-Flask/")
	tu.expect("kemudi image build", out, `Requirement already satisfied: flask`, `(?m)^built sha256:[0-9a-f]{64}$`)

	out = tu.mustKemudi(tutorialPassword+"\n", "image", "login", "127.0.0.1:5000", "-u", tutorialUser, "--password-stdin")
	tu.expect("kemudi image login", out, `Login Succeeded`)
	out = tu.mustKemudi("", "image", "push", tutorialImage)
	digest := regexp.MustCompile(`sha256:[0-9a-f]{64}`).FindString(out)
	if digest == "" {
		t.Fatalf("kemudi image push says no digest:\n%s", out)
	}
	tu.checkPushed(digest)

	// The kubelet must pull the image, every layer, as on a node that
	// never saw it, its base or its build.
	out = tu.mustKemudi("", "image", "rm", tutorialImage, "python:3.11-slim")
	tu.expect("kemudi image rm", out, regexp.QuoteMeta("removed "+tutorialImage), `removed python:3\.11-slim`)
	// The build's steps stay as its cache, unlisted, holding the same
	// layers, until a prune.
	if rows := tableRows(tu.mustKemudi("", "image", "ls")); len(rows) != 0 {
		t.Fatalf("kemudi image ls after rm: %q", rows)
	}
	out = tu.mustKemudi("", "image", "prune", "--all")
	tu.expect("kemudi image prune --all", out, `(?m)^deleted [0-9a-f]{13}$`, `[1-9][0-9]* build cache entries`, `reclaimed [0-9.]+ [MG]B`)

	tu.deployExposeOpen()
}

// TestTutorialWithPodman is the same tutorial with a real client's build
// and push: Debian's podman (its own storage and configuration in temp
// directories, the cluster CA in a certs.d directory) loads the base
// image, builds the seed's Dockerfile, logs in to the embedded registry
// and pushes.
func TestTutorialWithPodman(t *testing.T) {
	t.Parallel()
	testimages.Tool(t, "podman", "podman")
	tu := newTutorial(t)
	pm := newPodman(tu)

	out := pm.must("", "load", "-i", tu.base)
	tu.expect("podman load", out, `Loaded image.*python:3\.11-slim`)
	tu.addRegistryUser()

	out = pm.must("", "build", "-t", tutorialImage, "alifah-Flask/")
	tu.expect("podman build", out, `Requirement already satisfied: flask`, `Successfully tagged `+regexp.QuoteMeta(tutorialImage))

	out = pm.must(tutorialPassword+"\n", "login", "-u", tutorialUser, "--password-stdin", "127.0.0.1:5000")
	tu.expect("podman login", out, `Login Succeeded`)
	digestFile := filepath.Join(tu.home, "pushed-digest")
	pm.must("", "push", "--digestfile", digestFile, tutorialImage)
	digest, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatal(err)
	}
	tu.checkPushed(strings.TrimSpace(string(digest)))

	tu.deployExposeOpen()
}

// tutorial is a one-machine kemudi cluster (serverNode) and a new user's
// shell on that machine: a working directory holding the seed's
// alifah-Flask folder, a home of their own, the admin kubeconfig.
type tutorial struct {
	*serverNode
	t          *testing.T
	work, home string
	base       string // the Python base image, a docker-archive
	env        []string
}

func newTutorial(t *testing.T) *tutorial {
	t.Helper()
	testimages.Tool(t, "skopeo", "skopeo")
	base := pythonBaseImage(t)
	n := newServerNode(t, false, "--lb-address-pool", tutorialLBPool)
	tu := &tutorial{serverNode: n, t: t, work: t.TempDir(), home: t.TempDir(), base: base}
	tu.env = []string{
		"HOME=" + tu.home,
		"PATH=" + os.Getenv("PATH"),
		"KUBECONFIG=" + n.kubeconfig,
	}
	if err := os.CopyFS(filepath.Join(tu.work, "alifah-Flask"), os.DirFS("testdata/tutorial/alifah-Flask")); err != nil {
		t.Fatal(err)
	}
	// As the user would, before starting: the node is Ready.
	eventuallyKubectl(t, n, 2*time.Minute, "node-1 Ready", func() (bool, string) {
		out, err := tu.kubectl("get", "nodes")
		return err == nil && tableHas(out, map[string]string{"NAME": "node-1", "STATUS": "Ready"}), out
	})
	return tu
}

// pythonBaseImage is testimages.PythonFlaskBase: made with mmdebstrap on
// a machine's first run (a minute or more), then cached.
func pythonBaseImage(t *testing.T) string {
	t.Helper()
	testimages.Tool(t, "mmdebstrap", "mmdebstrap")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p, err := testimages.PythonFlaskBase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// user runs a command in the user's shell: inside the node's network
// namespace, in the working directory, with the user's environment.
func (tu *tutorial) user(env []string, stdin, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + tu.netnsPath, name}, args...)...)
	cmd.Dir = tu.work
	cmd.Env = append(append([]string{}, tu.env...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// kemudiArgs adds what a user with the default paths would not type: the
// test node's runtime socket and data directory.
func (tu *tutorial) kemudiArgs(args []string) []string {
	tmp := filepath.Dir(tu.dataDir)
	switch args[0] {
	case "image":
		return append([]string{"image", "--runtime-endpoint", filepath.Join(tmp, "cri.sock")}, args[1:]...)
	case "registry":
		return append(append([]string{}, args...), "--data-dir", tu.dataDir)
	}
	return args
}

func (tu *tutorial) kemudi(stdin string, args ...string) (string, error) {
	return tu.user(nil, stdin, tu.bin, tu.kemudiArgs(args)...)
}

func (tu *tutorial) mustKemudi(stdin string, args ...string) string {
	tu.t.Helper()
	out, err := tu.kemudi(stdin, args...)
	if err != nil {
		tu.t.Fatalf("kemudi %s: %v\n%s\nserver log:\n%s", strings.Join(args, " "), err, out, tu.proc.Tail())
	}
	tu.t.Logf("$ kemudi %s\n%s", strings.Join(args, " "), out)
	return out
}

// kubectl is `kemudi kubectl ARGS` as the user types it (KUBECONFIG
// names the admin kubeconfig).
func (tu *tutorial) kubectl(args ...string) (string, error) {
	return tu.kemudi("", append([]string{"kubectl"}, args...)...)
}

func (tu *tutorial) mustKubectl(args ...string) string {
	tu.t.Helper()
	return tu.mustKemudi("", append([]string{"kubectl"}, args...)...)
}

// expect fails unless out matches every pattern.
func (tu *tutorial) expect(what, out string, patterns ...string) {
	tu.t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(out) {
			tu.t.Errorf("%s: output does not match %q:\n%s", what, p, out)
		}
	}
}

func (tu *tutorial) addRegistryUser() {
	tu.t.Helper()
	tu.mustKemudi(tutorialPassword+"\n", "registry", "user", "add", tutorialUser, "--password-stdin")
}

// checkPushed is the tutorial's "look at the push": the registry has the
// tag, with the digest the client pushed (skopeo, trusting the cluster
// CA, with the user's credentials).
func (tu *tutorial) checkPushed(digest string) {
	tu.t.Helper()
	out, err := tu.user(nil, "", "unshare", privateHostDirs(tu.t.TempDir(), "skopeo", "inspect", "--cert-dir", tu.caDir(),
		"--creds", tutorialUser+":"+tutorialPassword, "docker://"+tutorialImage)...)
	if err != nil {
		tu.t.Fatalf("skopeo inspect docker://%s: %v\n%s", tutorialImage, err, out)
	}
	var info struct {
		Name     string
		Digest   string
		RepoTags []string
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		tu.t.Fatalf("skopeo inspect: %v\n%s", err, out)
	}
	if info.Name != tutorialRepo || info.Digest != digest || !strings.Contains(strings.Join(info.RepoTags, " "), "1") {
		tu.t.Errorf("the registry has %s %s tags %q; pushed %s", info.Name, info.Digest, info.RepoTags, digest)
	}
}

// caDir is a certs.d-style directory for 127.0.0.1:5000 holding the
// cluster CA, for skopeo's and podman's --cert-dir.
func (tu *tutorial) caDir() string {
	dir := filepath.Join(tu.home, "certs.d", "127.0.0.1:5000")
	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err == nil {
		return dir
	}
	ca, err := os.ReadFile(filepath.Join(tu.dataDir, "tls", "ca.crt"))
	if err != nil {
		tu.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tu.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644); err != nil {
		tu.t.Fatal(err)
	}
	return dir
}

// deployExposeOpen is the tutorial's second half: deploy the pushed image,
// watch it run, expose it through a load balancer, read the events and
// open the page.
func (tu *tutorial) deployExposeOpen() {
	t := tu.t
	t.Helper()
	created := time.Now()
	out := tu.mustKubectl("create", "deployment", "python-flask", "--image="+tutorialImage)
	tu.expect("kubectl create deployment", out, `^deployment\.apps/python-flask created\n$`)

	eventuallyKubectl(t, tu.serverNode, 3*time.Minute, "kubectl get deployments: python-flask READY 1/1", func() (bool, string) {
		var err error
		out, err = tu.kubectl("get", "deployments")
		return err == nil && tableHas(out, map[string]string{"NAME": "python-flask", "READY": "1/1", "UP-TO-DATE": "1", "AVAILABLE": "1"}), out
	})
	t.Logf("$ kemudi kubectl get deployments   (READY 1/1 %v after kubectl create deployment; kubectl get polls)\n%s", time.Since(created).Round(time.Millisecond), out)
	out = tu.mustKubectl("get", "pods")
	rows := tableRows(out)
	if len(rows) != 1 || !regexp.MustCompile(`^python-flask-[a-z0-9]+-[a-z0-9]{5}$`).MatchString(rows[0]["NAME"]) ||
		rows[0]["READY"] != "1/1" || rows[0]["STATUS"] != "Running" || rows[0]["RESTARTS"] != "0" {
		t.Errorf("kubectl get pods: want one python-flask-… pod 1/1 Running with no restarts:\n%s", out)
	}

	out = tu.mustKubectl("expose", "deployment", "python-flask", "--type=LoadBalancer", "--port=5000")
	tu.expect("kubectl expose", out, `^service/python-flask exposed\n$`)
	var svc map[string]string
	eventuallyKubectl(t, tu.serverNode, time.Minute, "kubectl get services: python-flask's EXTERNAL-IP", func() (bool, string) {
		var err error
		out, err = tu.kubectl("get", "services")
		for _, r := range tableRows(out) {
			if r["NAME"] == "python-flask" {
				svc = r
			}
		}
		return err == nil && svc != nil && svc["EXTERNAL-IP"] != "<pending>" && svc["EXTERNAL-IP"] != "", out
	})
	t.Logf("$ kemudi kubectl get services\n%s", out)
	m := regexp.MustCompile(`^5000:(3\d{4})/TCP$`).FindStringSubmatch(svc["PORT(S)"])
	if svc["TYPE"] != "LoadBalancer" || svc["EXTERNAL-IP"] != tutorialLBAddress || m == nil {
		t.Fatalf("kubectl get services: want python-flask LoadBalancer, EXTERNAL-IP %s, PORT(S) 5000:<nodePort>/TCP; got %q", tutorialLBAddress, svc)
	}
	nodePort := m[1]

	tu.checkEvents()

	// Opened from the machine itself and from one outside the node.
	outside := newClientNetns(t, tu.netnsName)
	nsRun(t, outside, "ip", "route", "add", tutorialLBAddress+"/32", "via", clientLinkNodeIP)
	for _, c := range []struct{ what, netns, url string }{
		{"NodeIP:NodePort from the node", tu.netnsPath, "http://" + serverNodeIP + ":" + nodePort + "/"},
		{"NodeIP:NodePort from outside", outside, "http://" + serverNodeIP + ":" + nodePort + "/"},
		{"EXTERNAL-IP:5000 from the node", tu.netnsPath, "http://" + tutorialLBAddress + ":5000/"},
		{"EXTERNAL-IP:5000 from outside", outside, "http://" + tutorialLBAddress + ":5000/"},
	} {
		eventuallyKubectl(t, tu.serverNode, 30*time.Second, c.what+" answers "+tutorialPage, func() (bool, string) {
			out, err := nsWget(c.netns, c.url)
			if err != nil {
				return false, err.Error() + ": " + out
			}
			return strings.TrimSpace(out) == tutorialPage, out
		})
	}
	t.Logf("page answering on the NodePort %v after kubectl create deployment", time.Since(created).Round(time.Millisecond))
}

// checkEvents waits for `kubectl get events` to tell the story a user
// expects: the deployment scaled, the replica set made the pod, the pod
// was scheduled, its image pulled from the registry, its container
// created and started, the load balancer ensured; and no warnings.
func (tu *tutorial) checkEvents() {
	t := tu.t
	want := []struct{ object, reason, message string }{
		{"deployment/python-flask", "ScalingReplicaSet", `Scaled up replica set python-flask-[a-z0-9]+ from 0 to 1`},
		{"replicaset/python-flask-", "SuccessfulCreate", `Created pod: python-flask-`},
		{"pod/python-flask-", "Scheduled", `Successfully assigned default/python-flask-[a-z0-9-]+ to node-1`},
		{"pod/python-flask-", "Pulling", `Pulling image "` + regexp.QuoteMeta(tutorialImage) + `"`},
		{"pod/python-flask-", "Pulled", `Successfully pulled image "` + regexp.QuoteMeta(tutorialImage) + `"`},
		{"pod/python-flask-", "Created", `Created container`},
		{"pod/python-flask-", "Started", `Started container`},
		{"service/python-flask", "EnsuredLoadBalancer", `Ensured load balancer`},
	}
	var out string
	eventuallyKubectl(t, tu.serverNode, time.Minute, "kubectl get events", func() (bool, string) {
		var err error
		out, err = tu.kubectl("get", "events")
		if err != nil {
			return false, out
		}
		rows := tableRows(out)
		for _, w := range want {
			found := false
			for _, r := range rows {
				if strings.HasPrefix(r["OBJECT"], w.object) && r["REASON"] == w.reason && regexp.MustCompile(w.message).MatchString(r["MESSAGE"]) {
					found = true
				}
			}
			if !found {
				return false, "no " + w.reason + " event of " + w.object + ": " + out
			}
		}
		return true, ""
	})
	t.Logf("$ kemudi kubectl get events\n%s", out)
	for _, r := range tableRows(out) {
		if r["TYPE"] != "Normal" {
			t.Errorf("kubectl get events shows a %s event: %q", r["TYPE"], r)
		}
	}
}

// tableRows reads kubectl's table output: each row keyed by its column
// headers, cut at the headers' offsets (kubectl aligns cells under them).
func tableRows(out string) []map[string]string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 {
		return nil
	}
	header := lines[0]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || (i >= 2 && header[i-1] == ' ' && header[i-2] == ' ')) {
			starts = append(starts, i)
		}
	}
	var rows []map[string]string
	for _, l := range lines[1:] {
		r := map[string]string{}
		for j, s := range starts {
			if s >= len(l) {
				continue
			}
			end := nextStart(starts, j, len(l))
			r[strings.TrimSpace(header[s:nextStart(starts, j, len(header))])] = strings.TrimSpace(l[s:min(end, len(l))])
		}
		rows = append(rows, r)
	}
	return rows
}

// nextStart is where the column after starts[j] begins, or end.
func nextStart(starts []int, j, end int) int {
	if j+1 < len(starts) {
		return starts[j+1]
	}
	return end
}

// tableHas says whether a row of kubectl's table has every cell of want.
func tableHas(out string, want map[string]string) bool {
	for _, r := range tableRows(out) {
		ok := true
		for k, v := range want {
			if r[k] != v {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}
