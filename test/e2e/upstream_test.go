package e2e

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

// upstreamAreas are the [sig-api-machinery] describes of upstream's
// e2e.test that TestUpstreamE2E runs: issue 15's list (CRDs, their
// OpenAPI, field validation, discovery, admission webhooks and policies),
// then the CRDs' CEL rules, ratcheting and field selectors, mutating
// policies, and the quick areas of the API's own behaviour (watches,
// server-side apply, chunking and tables, request timeouts, namespace
// deletion order), and API priority and fairness. Left out for the suite's time: ResourceQuota (~24
// minutes of specs) and the garbage collector's (~5).
var upstreamAreas = []string{
	"CustomResourceDefinition", // "CustomResourceDefinition resources" and "... Watch"
	"CustomResourceConversionWebhook",
	"CustomResourcePublishOpenAPI",
	"CustomResourceValidationRules",
	"CustomResourceFieldSelectors",
	"CRDValidationRatcheting",
	"FieldValidation",
	"AggregatedDiscovery",
	"Discovery",
	"AdmissionWebhook",
	"ValidatingAdmissionPolicy",
	"MutatingAdmissionPolicy",
	"Watchers",
	"ServerSideApply",
	"Servers", // "with support for API chunking", "... Table transformation"
	"Server",  // "request timeout"
	"server",  // "version"
	"client-go",
	"OrderedNamespaceDeletion",
	"API priority and fairness", // its API and classification; no queuing yet
	"Aggregator",                // upstream's sample-apiserver behind an APIService
	"Generated clientset",
	"health handlers",
	"API Streaming", // "(aka. WatchList)": lists sent as a watch's initial events
}

// upstreamSkip leaves out specs that take a cluster to themselves or
// break it ([Serial], [Disruptive]), the slow ones, and those upstream
// marks flaky.
const upstreamSkip = `\[Serial\]|\[Disruptive\]|\[Slow\]|\[Flaky\]`

// upstreamGolden lists the specs that pass against kemudi, one full spec
// text a line: TestUpstreamE2E fails when one of them does not.
// UPSTREAM_E2E_UPDATE=1 rewrites it with the specs that passed.
const upstreamGolden = "testdata/upstream/passing.txt"

// TestUpstreamE2E runs upstream Kubernetes' own end-to-end specs
// (e2e.test of k8s.io/kubernetes v1.37.2, upstreamAreas) against kemudi
// server and its node in a network namespace of their own, with the
// images the specs run (agnhost, busybox, pause) served from a loopback
// registry through KUBE_TEST_REPO_LIST. It fails when a spec listed in
// testdata/upstream/passing.txt fails, and logs the counts per area,
// every failure's first line and the specs that pass unlisted, so that
// progress shows.
//
// Each spec runs in an e2e.test process of its own (upstreamRunner), with
// a deadline: a spec that hangs fails alone; the whole run ends before
// the test binary's own deadline, so a hang never holds the suite.
//
// $UPSTREAM_E2E is the e2e.test binary, with agnhost beside it, as
// test/upstream/build-e2e.sh builds them (and prints its path). Without
// it the test is skipped, except in CI (CI set), whose script builds it.
// UPSTREAM_E2E_FOCUS narrows the run to specs matching it (the golden
// list is then checked only for the specs that ran);
// UPSTREAM_E2E_PROCS sets how many specs run at once (default 4);
// UPSTREAM_E2E_SPEC_TIMEOUT one spec's deadline (default 5m);
// UPSTREAM_E2E_DEADLINE the specs' run's, from its start (default 20m,
// and always 2m before the test binary's -timeout); UPSTREAM_E2E_LOG keeps every
// spec's output, failures first, and the server's log in that file.
func TestUpstreamE2E(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("UPSTREAM_E2E")
	if bin == "" {
		msg := "$UPSTREAM_E2E is not set (upstream's e2e.test: UPSTREAM_E2E=$(E2E_SUITES=apimachinery test/upstream/build-e2e.sh))"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; .ci/run builds it")
		}
		t.Skip(msg)
	}
	agnhost := filepath.Join(filepath.Dir(bin), "agnhost")
	for _, p := range []string{bin, agnhost} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v (test/upstream/build-e2e.sh builds e2e.test and agnhost together)", err)
		}
	}
	perSpec := envDuration(t, "UPSTREAM_E2E_SPEC_TIMEOUT", 5*time.Minute)
	runFor := envDuration(t, "UPSTREAM_E2E_DEADLINE", 20*time.Minute)
	// Setup (the node, the images) is bounded by the test binary's
	// deadline only; the specs' run gets its own budget once it begins.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(ctx, d.Add(-2*time.Minute))
		defer cancel()
	}
	setup := time.Now()

	work := t.TempDir()
	focus := `\[sig-api-machinery\] (` + strings.Join(upstreamAreas, "|") + `)\b`
	narrowed := os.Getenv("UPSTREAM_E2E_FOCUS")
	if narrowed != "" {
		focus = narrowed
	}
	suite, planned, err := listUpstreamSpecs(ctx, bin, focus, upstreamSkip, work)
	if err != nil {
		t.Fatal(err)
	}
	if len(planned) == 0 {
		t.Fatalf("e2e.test has no spec matching %q", focus)
	}

	n := newServerNode(t, false)
	repoList := filepath.Join(work, "repo-list.yaml")
	if err := os.WriteFile(repoList, []byte(upstreamRepoList(n.registry.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	pushUpstreamImages(t, n, bin, agnhost, repoList)

	procs := 4
	if p := os.Getenv("UPSTREAM_E2E_PROCS"); p != "" {
		if procs, err = strconv.Atoi(p); err != nil || procs < 1 {
			t.Fatalf("UPSTREAM_E2E_PROCS=%q: want a positive number", p)
		}
	}
	r := &upstreamRunner{
		bin: bin, netns: n.netnsPath, suite: suite, dir: work, procs: procs,
		perSpec: perSpec, grace: time.Minute,
		args: []string{"--kubeconfig=" + n.kubeconfig, "--provider=skeleton",
			"--minStartupPods=0", "--system-pods-startup-timeout=2m", "--node-schedulable-timeout=2m",
			"--dump-logs-on-failure=false"},
		env: append(os.Environ(), "KUBE_TEST_REPO_LIST="+repoList, "HOME="+work),
	}
	t.Logf("setup (node, images) took %s", time.Since(setup).Round(time.Second))
	runCtx, cancelRun := context.WithTimeout(ctx, runFor)
	defer cancelRun()
	start := time.Now()
	specs := r.run(runCtx, planned)
	if p := os.Getenv("UPSTREAM_E2E_LOG"); p != "" {
		_ = os.WriteFile(p, []byte(upstreamOutputs(work, specs)+"\n--- server log ---\n"+n.proc.Tail()), 0o644)
	}
	t.Logf("upstream e2e.test (%s, %d at once, %s a spec): %s", time.Since(start).Round(time.Second), procs, perSpec, upstreamSummary(specs))
	checkUpstreamGolden(t, specs, narrowed != "")
}

// envDuration is the duration in $name, else def.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration such as 5m", name, v)
	}
	return d
}

// upstreamRepoList is a KUBE_TEST_REPO_LIST file sending every registry
// e2e.test names its images on to the registry at host, each under a
// path of its own. The invalid and private registries go to a closed
// port on loopback: those specs expect the pull to fail, and nothing may
// resolve names outside the machine.
func upstreamRepoList(host string) string {
	return fmt.Sprintf(`promoterE2eRegistry: %[1]s/e2e-test-images
buildImageRegistry: %[1]s/build-image
gcEtcdRegistry: %[1]s
gcRegistry: %[1]s
sigStorageRegistry: %[1]s/sig-storage
dockerLibraryRegistry: %[1]s/library
cloudProviderGcpRegistry: %[1]s/cloud-provider-gcp
invalidRegistry: 127.0.0.1:1/invalid
privateRegistry: 127.0.0.1:1/k8s-authenticated-test
`, host)
}

// pushUpstreamImages asks e2e.test which images it runs (--list-images,
// already mapped by repoList) and pushes the ones that can be made here:
// agnhost (upstream's program, built static, with busybox beside it for
// the shell commands specs run in it), busybox, pause (agnhost pause),
// sample-apiserver, etcd and nginx. The rest are left out: their specs
// are not in upstreamAreas.
func pushUpstreamImages(t *testing.T, n *serverNode, e2eTest, agnhost, repoList string) {
	t.Helper()
	cmd := exec.Command(e2eTest, "--list-images")
	cmd.Env = append(os.Environ(), "KUBE_TEST_REPO_LIST="+repoList)
	list, err := cmd.Output()
	if err != nil {
		t.Fatalf("e2e.test --list-images: %v", err)
	}
	images, err := upstreamImages(filepath.Dir(agnhost))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(list)))
	for sc.Scan() {
		ref, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), n.registry.Host+"/")
		if !ok {
			continue
		}
		repo, _, _ := strings.Cut(ref, ":")
		img, ok := images[filepath.Base(repo)]
		if !ok {
			continue
		}
		if _, err := n.registry.Push(ref, img); err != nil {
			t.Fatal(err)
		}
	}
}

// upstreamImages are the images pushUpstreamImages makes, by the last
// element of their repository, from the programs build-e2e.sh puts in
// dir beside e2e.test.
func upstreamImages(dir string) (map[string]v1.Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, "agnhost"))
	if err != nil {
		return nil, err
	}
	base, err := testimages.BusyboxFiles()
	if err != nil {
		return nil, err
	}
	files := append(base,
		testimages.File{Path: "agnhost", Mode: 0o755, Content: string(b)},
		testimages.File{Path: "agnhost-2", Type: tar.TypeSymlink, Link: "agnhost"}, // as upstream's image
		testimages.File{Path: "uploads", Type: tar.TypeDir},                        // netexec's
	)
	layer, err := testimages.Layer(files...)
	if err != nil {
		return nil, fmt.Errorf("agnhost image: %w", err)
	}
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	agn, err := testimages.Image(v1.Config{Entrypoint: []string{"/agnhost"}, Cmd: []string{"pause"}, Env: []string{path}}, layer)
	if err != nil {
		return nil, err
	}
	pause, err := testimages.Image(v1.Config{Entrypoint: []string{"/agnhost", "pause"}, Env: []string{path}}, layer)
	if err != nil {
		return nil, err
	}
	bb, err := testimages.Busybox()
	if err != nil {
		return nil, err
	}
	// The Aggregator spec's pod: upstream's sample-apiserver image (the
	// program alone, FROM scratch as upstream's is from a distroless
	// base) and etcd's, whose program the spec runs by its path.
	sample, err := programImage(filepath.Join(dir, "sample-apiserver"), "sample-apiserver")
	if err != nil {
		return nil, err
	}
	etcd, err := programImage(filepath.Join(dir, "etcd"), "usr/local/bin/etcd")
	if err != nil {
		return nil, err
	}
	// nginx (the Generated clientset specs' pods): critest's stand-in,
	// a web server on port 80 that looks like nginx's master process.
	critest, err := testimages.CRITestImages()
	if err != nil {
		return nil, err
	}
	return map[string]v1.Image{"agnhost": agn, "pause": pause, "busybox": bb, "sample-apiserver": sample, "etcd": etcd,
		"nginx": critest["e2e-test-images/nginx:1.14-2"]}, nil
}

// programImage is a FROM scratch image of one static program at path,
// its entrypoint, with /tmp for what the program writes there.
func programImage(bin, path string) (v1.Image, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("%w (test/upstream/build-e2e.sh builds it beside e2e.test)", err)
	}
	files := []testimages.File{{Path: "tmp", Type: tar.TypeDir, Mode: 0o1777}}
	for d := filepath.Dir(path); d != "."; d = filepath.Dir(d) {
		files = append(files, testimages.File{Path: d, Type: tar.TypeDir})
	}
	slices.SortFunc(files[1:], func(a, b testimages.File) int { return len(a.Path) - len(b.Path) }) // parents first
	layer, err := testimages.Layer(append(files, testimages.File{Path: path, Mode: 0o755, Content: string(b)})...)
	if err != nil {
		return nil, fmt.Errorf("image of %s: %w", bin, err)
	}
	return testimages.Image(v1.Config{Entrypoint: []string{"/" + path}}, layer)
}

// upstreamSpec is one spec's outcome in ginkgo's JUnit report.
type upstreamSpec struct {
	Name    string // full spec text: "[sig-api-machinery] Discovery should ..."
	Status  string // passed, failed, skipped, pending, panicked, interrupted, timedout, aborted
	Message string // the failure's message
	Time    time.Duration
}

func readJUnit(path string) ([]upstreamSpec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Status  string `xml:"status,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("junit report %s: %w", path, err)
	}
	var out []upstreamSpec
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			// Ginkgo's names put the spec's kind first: "[It] [sig-...] ...".
			name := strings.TrimSpace(strings.TrimPrefix(c.Name, "[It]"))
			sp := upstreamSpec{Name: name, Status: c.Status}
			switch {
			case c.Failure != nil:
				sp.Message = c.Failure.Message
			case c.Error != nil:
				sp.Message = c.Error.Message
			}
			out = append(out, sp)
		}
	}
	return out, nil
}

// upstreamArea is the area of upstreamAreas a spec belongs to, longest
// match first ("CustomResourcePublishOpenAPI" before "CustomResource...").
func upstreamArea(spec string) string {
	best := ""
	for _, a := range upstreamAreas {
		if strings.HasPrefix(spec, "[sig-api-machinery] "+a) && len(a) > len(best) {
			best = a
		}
	}
	return best
}

// upstreamSummary counts passed and failed specs per area, then names
// each failure with the first line of its message.
func upstreamSummary(specs []upstreamSpec) string {
	type count struct{ passed, failed int }
	counts := map[string]*count{}
	var failures []string
	for _, s := range specs {
		a := upstreamArea(s.Name)
		if a == "" || s.Status == "skipped" || s.Status == "pending" {
			continue
		}
		if counts[a] == nil {
			counts[a] = &count{}
		}
		if s.Status == "passed" {
			counts[a].passed++
			continue
		}
		counts[a].failed++
		msg, _, _ := strings.Cut(strings.TrimSpace(s.Message), "\n")
		failures = append(failures, fmt.Sprintf("  %s: %s [%s]", s.Name, msg, s.Status))
	}
	var b strings.Builder
	total := count{}
	for _, a := range upstreamAreas {
		if c := counts[a]; c != nil {
			fmt.Fprintf(&b, "\n  %-30s %3d passed %3d failed", a, c.passed, c.failed)
			total.passed += c.passed
			total.failed += c.failed
		}
	}
	sort.Strings(failures)
	return fmt.Sprintf("%d passed, %d failed%s\nfailures:\n%s", total.passed, total.failed, b.String(), strings.Join(failures, "\n"))
}

// checkUpstreamGolden fails for every spec of the golden list that did
// not pass (when narrowed, only those that ran), logs the specs that pass
// and are not listed yet, and with UPSTREAM_E2E_UPDATE=1 rewrites the
// list with the specs that passed (and those listed that did not run).
func checkUpstreamGolden(t *testing.T, specs []upstreamSpec, narrowed bool) {
	t.Helper()
	status := map[string]string{}
	var passed []string
	for _, s := range specs {
		status[s.Name] = s.Status
		if s.Status == "passed" && upstreamArea(s.Name) != "" {
			passed = append(passed, s.Name)
		}
	}
	golden, err := readGolden(upstreamGolden)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPSTREAM_E2E_UPDATE") != "" {
		// Specs that did not run (a narrowed focus) keep their line.
		for _, g := range golden {
			if st, ran := status[g]; !ran || (narrowed && st == "skipped") {
				passed = append(passed, g)
			}
		}
		sort.Strings(passed)
		body := "# Upstream e2e.test specs (k8s.io/kubernetes v1.37.2) that pass against kemudi:\n" +
			"# test/e2e TestUpstreamE2E fails when one of them does not.\n" +
			"# Rewritten by UPSTREAM_E2E_UPDATE=1 with the specs that passed.\n" +
			strings.Join(passed, "\n") + "\n"
		if err := os.WriteFile(upstreamGolden, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d specs", upstreamGolden, len(passed))
		return
	}
	listed := map[string]bool{}
	for _, g := range golden {
		listed[g] = true
		st, ran := status[g]
		switch {
		case !ran && !narrowed:
			t.Errorf("listed spec did not run (renamed upstream?): %s", g)
		case st == "passed", narrowed && (!ran || st == "skipped"):
		default:
			t.Errorf("listed spec %s: %s", st, g)
		}
	}
	var fresh []string
	for _, p := range passed {
		if !listed[p] {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) > 0 {
		t.Logf("%d specs pass and are not in %s yet (UPSTREAM_E2E_UPDATE=1 adds them):\n  %s", len(fresh), upstreamGolden, strings.Join(fresh, "\n  "))
	}
}

// readGolden is the non-comment, non-empty lines of path.
func readGolden(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, nil
}
