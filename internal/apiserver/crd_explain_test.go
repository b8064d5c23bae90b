package apiserver_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/discovery"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// explainCase is one kubectl explain and what its output must say.
type explainCase struct {
	args []string
	want []string
}

// explain runs kubectl explain with a cache directory of the test's
// (kubectl caches discovery and OpenAPI documents there, by hash).
func explain(s *clustertest.Server, cache string, args ...string) (string, error) {
	return s.Kubectl(append([]string{"explain", "--cache-dir", cache}, args...)...)
}

// explainSays retries an explain until its output says every want, as
// the documents follow a CRD change within seconds.
func explainSays(t *testing.T, s *clustertest.Server, cache string, c explainCase) {
	t.Helper()
	eventually(t, "kubectl explain "+strings.Join(c.args, " "), 20*time.Second, func() error {
		out, err := explain(s, cache, c.args...)
		if err != nil {
			return err
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				return fmt.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		return nil
	})
}

// TestKubectlExplainCustomResource: kubectl explain describes a CRD from
// its schema (OpenAPI v3, and v2 when asked), follows a changed CRD, and
// forgets a deleted one; client-go's OpenAPI v3 client lists its group
// versions.
func TestKubectlExplainCustomResource(t *testing.T) {
	start := time.Now()
	step := func(what string) { t.Logf("%s at %v", what, time.Since(start).Round(time.Millisecond)) }
	s := clustertest.Start(t)
	step("started")
	cache := t.TempDir()
	applyFile(t, s, "testdata/explain-crd.yaml")
	s.MustKubectl("wait", "--for=condition=Established", "--timeout=10s", "crd/crontabs.stable.example.com")

	for _, c := range []explainCase{
		{args: []string{"crontab"}, want: []string{"GROUP:      stable.example.com", "KIND:       CronTab", "VERSION:    v1\n", "CronTab runs an image on a schedule.", "spec\t<Object>"}},
		{args: []string{"crontab.spec"}, want: []string{"FIELD: spec <Object>", "What to run and when.", "cronSpec\t<string>", "replicas\t<integer>"}},
		{args: []string{"crontab.spec.replicas"}, want: []string{"FIELD: replicas <integer>", "How many copies run at each tick."}},
		{args: []string{"ct.spec.cronSpec"}, want: []string{"FIELD: cronSpec <string>", "The schedule, in cron format."}},
		{args: []string{"crontabs", "--api-version=stable.example.com/v1beta1"}, want: []string{"VERSION:    v1beta1", "CronTab, the beta shape."}},
		{args: []string{"crontabs.spec.schedule", "--api-version=stable.example.com/v1beta1"}, want: []string{"The beta schedule field."}},
		{args: []string{"crontab.spec", "--output=plaintext-openapiv2"}, want: []string{"KIND:     CronTab", "RESOURCE: spec <Object>", "What to run and when.", "replicas\t<integer>"}},
		{args: []string{"crontab.spec", "--recursive"}, want: []string{"cronSpec\t<string>", "replicas\t<integer>"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) { explainSays(t, s, cache, c) })
	}

	step("explained")
	// client-go's OpenAPI v3 client finds the CRD's group versions.
	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		t.Fatal(err)
	}
	for _, gv := range []string{"apis/stable.example.com/v1", "apis/stable.example.com/v1beta1", "apis/apps/v1"} {
		gvPath, ok := paths[gv]
		if !ok {
			t.Fatalf("openapi v3 paths lack %s", gv)
		}
		if _, err := gvPath.Schema("application/json"); err != nil {
			t.Errorf("%s: %v", gv, err)
		}
	}

	step("listed paths")
	// The CRD gains a field: explain shows it, with the same cache.
	b, err := os.ReadFile("testdata/explain-crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), "              replicas:\n", "              suspend:\n                type: boolean\n                description: Whether the schedule is paused.\n              replicas:\n", 1)
	if out, err := s.KubectlStdin(strings.NewReader(changed), "apply", "--request-timeout=60s", "-v=6", "-f", "-"); err != nil || !strings.Contains(out, "configured") {
		t.Fatalf("apply changed CRD: %q, %v", out, err)
	}
	step("applied the changed CRD")
	explainSays(t, s, cache, explainCase{args: []string{"crontab.spec.suspend"}, want: []string{"FIELD: suspend <boolean>", "Whether the schedule is paused."}})
	explainSays(t, s, cache, explainCase{args: []string{"crontab.spec", "--output=plaintext-openapiv2"}, want: []string{"suspend\t<boolean>"}})

	// Deleted, the resource is unknown: to a kubectl with a fresh cache,
	// and to one whose cached discovery still has it (upstream says so
	// in other words then).
	step("explained the change")
	s.MustKubectl("delete", "crd", "crontabs.stable.example.com", "--timeout=30s")
	step("deleted")
	unknown := `the server doesn't have a resource type "crontab"`
	for _, c := range []struct {
		cache string
		want  []string // one of them
	}{
		{cache: t.TempDir(), want: []string{unknown}},
		{cache: cache, want: []string{unknown, `couldn't find resource for "stable.example.com/v1, Resource=crontabs"`}},
	} {
		eventually(t, "explain after delete", 20*time.Second, func() error {
			out, err := explain(s, c.cache, "crontab")
			if err == nil {
				return fmt.Errorf("explain crontab still answers:\n%s", out)
			}
			for _, w := range c.want {
				if strings.Contains(err.Error(), w) {
					return nil
				}
			}
			return err
		})
	}
	eventually(t, "openapi v3 paths after delete", 20*time.Second, func() error {
		paths, err := dc.OpenAPIV3().Paths()
		if err != nil {
			return err
		}
		if _, ok := paths["apis/stable.example.com/v1"]; ok {
			return fmt.Errorf("apis/stable.example.com/v1 still listed")
		}
		return nil
	})
}
