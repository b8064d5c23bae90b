package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A report as ginkgo v2.32's --junit-report writes it (abridged).
const sampleJUnit = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="5" disabled="0" errors="0" failures="1" time="30">
  <testsuite name="Kubernetes e2e suite" package="/" tests="5" disabled="0" skipped="1" errors="0" failures="1" time="30">
    <testcase name="[SynchronizedBeforeSuite]" classname="Kubernetes e2e suite" status="passed" time="1"></testcase>
    <testcase name="[It] [sig-api-machinery] Discovery should validate PreferredVersion for each APIGroup [Conformance] [sig-api-machinery, Conformance]" classname="Kubernetes e2e suite" status="passed" time="2"><system-err>log</system-err></testcase>
    <testcase name="[It] [sig-api-machinery] CustomResourcePublishOpenAPI [Privileged:ClusterAdmin] works for CRD with validation schema [Conformance] [sig-api-machinery, Conformance]" classname="Kubernetes e2e suite" status="failed" time="20"><failure message="[FAILED] failed to explain crd&#xA;second line" type="failed">details</failure></testcase>
    <testcase name="[It] [sig-api-machinery] CustomResourceDefinition resources [Privileged:ClusterAdmin] should include custom resource definition resources in discovery documents [Conformance] [sig-api-machinery, Conformance]" classname="Kubernetes e2e suite" status="timedout" time="5"><failure message="A suite timeout occurred" type="timedout">x</failure></testcase>
    <testcase name="[It] [sig-apps] Deployment should run [sig-apps]" classname="Kubernetes e2e suite" status="skipped" time="0"><skipped message="skipped"></skipped></testcase>
  </testsuite>
</testsuites>`

func TestUpstreamReport(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(p, []byte(sampleJUnit), 0o644); err != nil {
		t.Fatal(err)
	}
	specs, err := readJUnit(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 5 {
		t.Fatalf("read %d specs, want 5: %+v", len(specs), specs)
	}
	tests := []struct {
		i                    int
		prefix, status, area string
		message              string
	}{
		{0, "[SynchronizedBeforeSuite]", "passed", "", ""},
		{1, "[sig-api-machinery] Discovery should validate", "passed", "Discovery", ""},
		{2, "[sig-api-machinery] CustomResourcePublishOpenAPI", "failed", "CustomResourcePublishOpenAPI", "[FAILED] failed to explain crd\nsecond line"},
		{3, "[sig-api-machinery] CustomResourceDefinition resources", "timedout", "CustomResourceDefinition", "A suite timeout occurred"},
		{4, "[sig-apps] Deployment", "skipped", "", ""},
	}
	for _, tc := range tests {
		s := specs[tc.i]
		if !strings.HasPrefix(s.Name, tc.prefix) || s.Status != tc.status || s.Message != tc.message || upstreamArea(s.Name) != tc.area {
			t.Errorf("spec %d = %+v (area %q), want prefix %q status %q message %q area %q",
				tc.i, s, upstreamArea(s.Name), tc.prefix, tc.status, tc.message, tc.area)
		}
	}
	sum := upstreamSummary(specs)
	for _, want := range []string{
		"1 passed, 2 failed",
		"Discovery                        1 passed   0 failed",
		"CustomResourcePublishOpenAPI     0 passed   1 failed",
		"works for CRD with validation schema [Conformance] [sig-api-machinery, Conformance]: [FAILED] failed to explain crd [failed]",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	if strings.Contains(sum, "second line") || strings.Contains(sum, "Deployment") {
		t.Errorf("summary has more than failures' first lines of the areas:\n%s", sum)
	}
}

// A dry run's JSON report as ginkgo v2.32's --json-report writes it
// (abridged): a suite node, a selected spec, a skipped one.
const sampleDryRun = `[{"SuiteDescription": "Kubernetes e2e suite", "SpecReports": [
 {"ContainerHierarchyTexts": null, "ContainerHierarchyLabels": null, "LeafNodeType": "ReportBeforeSuite", "LeafNodeText": "", "LeafNodeLabels": null, "State": "passed"},
 {"ContainerHierarchyTexts": ["[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin]"], "ContainerHierarchyLabels": [["sig-api-machinery"]],
  "LeafNodeType": "It", "LeafNodeText": "should be able to deny attaching pod [Conformance]", "LeafNodeLabels": ["Conformance"], "State": "passed"},
 {"ContainerHierarchyTexts": ["[sig-node] PLR Pod InPlace Resize", "", "resizing"], "ContainerHierarchyLabels": [["sig-node", "Slow"], [], []],
  "LeafNodeType": "It", "LeafNodeText": "requests [Slow]", "LeafNodeLabels": ["Slow"], "State": "skipped"},
 {"ContainerHierarchyTexts": ["[sig-api-machinery] Discovery", "", "nested"], "ContainerHierarchyLabels": [["sig-api-machinery"], [], ["Feature:X"]],
  "LeafNodeType": "It", "LeafNodeText": "works", "LeafNodeLabels": ["sig-api-machinery"], "State": "passed"}
]}]`

// TestUpstreamDryRun: the specs a dry run selected, with the text focus
// matches and the name the JUnit report and the golden list use.
func TestUpstreamDryRun(t *testing.T) {
	suite, specs, err := parseUpstreamDryRun([]byte(sampleDryRun))
	if err != nil {
		t.Fatal(err)
	}
	want := []upstreamPlanned{
		{Text: "[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should be able to deny attaching pod [Conformance]",
			Name: "[sig-api-machinery] AdmissionWebhook [Privileged:ClusterAdmin] should be able to deny attaching pod [Conformance] [sig-api-machinery, Conformance]"},
		{Text: "[sig-api-machinery] Discovery nested works", Name: "[sig-api-machinery] Discovery nested works [sig-api-machinery, Feature:X]"},
	}
	if suite != "Kubernetes e2e suite" || !reflect.DeepEqual(specs, want) {
		t.Errorf("got suite %q specs\n%+v\nwant %+v", suite, specs, want)
	}
	if _, _, err := parseUpstreamDryRun([]byte(`{"not": "a list"}`)); err == nil {
		t.Error("a report that is not ginkgo's parsed")
	}
}
