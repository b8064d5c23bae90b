package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// upstreamPlanned is one spec of e2e.test to run: its text, which
// ginkgo's focus matches, and its name as ginkgo's JUnit report gives it
// (text, then its labels), which upstreamSpec and the golden list use.
type upstreamPlanned struct {
	Text string
	Name string
}

// listUpstreamSpecs asks e2e.test which specs focus and skip select (a
// dry run: nothing is run, no cluster is needed). The suite description
// comes back too: ginkgo matches focus against it and the spec's text.
func listUpstreamSpecs(ctx context.Context, bin, focus, skip, dir string) (string, []upstreamPlanned, error) {
	report := filepath.Join(dir, "dry-run.json")
	cmd := exec.CommandContext(ctx, bin, "--ginkgo.dry-run", "--ginkgo.no-color",
		"--ginkgo.focus="+focus, "--ginkgo.skip="+skip, "--ginkgo.json-report="+report)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("e2e.test --ginkgo.dry-run: %w\n%s", err, lastLines(string(out), 20))
	}
	b, err := os.ReadFile(report)
	if err != nil {
		return "", nil, err
	}
	return parseUpstreamDryRun(b)
}

// parseUpstreamDryRun reads the specs a dry run selected from ginkgo's
// JSON report.
func parseUpstreamDryRun(b []byte) (string, []upstreamPlanned, error) {
	var reports []struct {
		SuiteDescription string
		SpecReports      []struct {
			ContainerHierarchyTexts  []string
			ContainerHierarchyLabels [][]string
			LeafNodeType             string
			LeafNodeText             string
			LeafNodeLabels           []string
			State                    string
		}
	}
	if err := json.Unmarshal(b, &reports); err != nil {
		return "", nil, fmt.Errorf("ginkgo's dry-run report: %w", err)
	}
	if len(reports) != 1 {
		return "", nil, fmt.Errorf("ginkgo's dry-run report has %d suites, want 1", len(reports))
	}
	var specs []upstreamPlanned
	for _, s := range reports[0].SpecReports {
		if s.LeafNodeType != "It" || s.State == "skipped" || s.State == "pending" {
			continue
		}
		// As ginkgo's Spec.Text and its JUnit reporter's name.
		var texts []string
		for _, t := range append(append([]string{}, s.ContainerHierarchyTexts...), s.LeafNodeText) {
			if t != "" {
				texts = append(texts, t)
			}
		}
		var labels []string
		seen := map[string]bool{}
		for _, l := range append(append([][]string{}, s.ContainerHierarchyLabels...), s.LeafNodeLabels) {
			for _, one := range l {
				if !seen[one] {
					seen[one] = true
					labels = append(labels, one)
				}
			}
		}
		sp := upstreamPlanned{Text: strings.Join(texts, " ")}
		sp.Name = sp.Text
		if len(labels) > 0 {
			sp.Name += " [" + strings.Join(labels, ", ") + "]"
		}
		specs = append(specs, sp)
	}
	return reports[0].SuiteDescription, specs, nil
}

// upstreamRunner runs e2e.test one spec a process, procs processes at a
// time. Each spec has its own deadline: ginkgo's suite timeout interrupts
// it (cleanup runs, and the report says where it hung), and the process
// is killed a grace period later if it is still there. So a spec that
// hangs fails alone, and the run as a whole ends by the context's
// deadline, the specs not started by then reported as not run.
type upstreamRunner struct {
	bin     string   // e2e.test
	netns   string   // the namespace e2e.test runs in (nsenter --net)
	args    []string // e2e.test's flags besides ginkgo's (--kubeconfig, ...)
	env     []string
	suite   string // the suite's description, which focus sees first
	dir     string // one directory a spec below it: report and output
	procs   int
	perSpec time.Duration
	grace   time.Duration
}

// run runs specs and returns their outcomes in the same order.
func (r *upstreamRunner) run(ctx context.Context, specs []upstreamPlanned) []upstreamSpec {
	out := make([]upstreamSpec, len(specs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(r.procs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = r.runOne(ctx, i, specs[i])
			}
		}()
	}
	for i := range specs {
		if ctx.Err() == nil {
			select {
			case next <- i:
				continue
			case <-ctx.Done():
			}
		}
		out[i] = upstreamSpec{Name: specs[i].Name, Status: "not run", Message: "the run's deadline passed before it started"}
	}
	close(next)
	wg.Wait()
	return out
}

// runOne runs one spec in a process of its own.
func (r *upstreamRunner) runOne(ctx context.Context, i int, sp upstreamPlanned) upstreamSpec {
	dir := filepath.Join(r.dir, fmt.Sprintf("spec-%03d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return upstreamSpec{Name: sp.Name, Status: "failed", Message: err.Error()}
	}
	junit := filepath.Join(dir, "junit.xml")
	focus := "^" + regexp.QuoteMeta(r.suite+" "+sp.Text) + "$"
	args := append([]string{"--net=" + r.netns, r.bin,
		"--ginkgo.focus=" + focus, "--ginkgo.no-color", "--ginkgo.timeout=" + r.perSpec.String(),
		"--ginkgo.junit-report=" + junit, "--e2e-output-dir=" + dir,
	}, r.args...)
	specCtx, cancel := context.WithTimeout(ctx, r.perSpec+r.grace)
	defer cancel()
	cmd := exec.CommandContext(specCtx, "nsenter", args...)
	cmd.Dir = dir
	cmd.Env = r.env
	// The whole group goes: e2e.test and what it runs (kubectl).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	logFile, err := os.Create(filepath.Join(dir, "output.log"))
	if err != nil {
		return upstreamSpec{Name: sp.Name, Status: "failed", Message: err.Error()}
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	runErr := cmd.Run()
	res := upstreamSpec{Name: sp.Name}
	setup := "" // why a suite node (BeforeSuite) failed, if one did
	if specs, err := readJUnit(junit); err == nil {
		for _, s := range specs {
			switch {
			case s.Name == sp.Name:
				res = s
			case s.Status != "passed" && s.Status != "skipped" && setup == "":
				setup = s.Name + ": " + s.Message
			}
		}
	}
	switch {
	case res.Status == "passed" || res.Status == "failed" || res.Status == "timedout" || res.Status == "panicked" ||
		res.Status == "skipped":
		// ginkgo's own verdict (a timedout spec was interrupted by
		// --ginkgo.timeout and its report says where it was; a skipped
		// one called Skip itself, as upstream's flaky APF specs do).
	case ctx.Err() != nil:
		res.Status, res.Message = "interrupted", "killed at the run's deadline"
	case specCtx.Err() != nil:
		res.Status, res.Message = "timedout", fmt.Sprintf("killed: no result within %s", r.perSpec+r.grace)
	case setup != "":
		res.Status, res.Message = "failed", setup
	default:
		res.Status, res.Message = "failed", fmt.Sprintf("e2e.test (%v) did not report the spec: %s", runErr, lastLines(readFileString(logFile.Name()), 5))
	}
	res.Time = time.Since(start)
	return res
}

func readFileString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// upstreamOutputs is every spec's output, failures first, for
// UPSTREAM_E2E_LOG.
func upstreamOutputs(dir string, specs []upstreamSpec) string {
	var failed, passed strings.Builder
	for i, s := range specs {
		b := &passed
		if s.Status != "passed" {
			b = &failed
		}
		fmt.Fprintf(b, "\n=== %s [%s, %s]\n%s", s.Name, s.Status, s.Time.Round(time.Second),
			readFileString(filepath.Join(dir, fmt.Sprintf("spec-%03d", i), "output.log")))
	}
	return failed.String() + passed.String()
}
