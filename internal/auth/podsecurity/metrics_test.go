package podsecurity

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kemudi/kemudi/internal/auth"
)

// The plugin counts its evaluations and exemptions under upstream's
// names and labels, on a registry like the API server's /metrics.
func TestMetrics(t *testing.T) {
	nss := fakeNamespaces{
		"team-a": namespace("team-a", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}),
		"open":   namespace("open", nil),
	}
	cfg, err := LoadConfig(writeConfig(t, `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    exemptions:
      usernames: [trusted]
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, nss, fakePods{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collectors()...)

	ann, trusted := &auth.User{Name: "ann"}, &auth.User{Name: "trusted"}
	ctx := context.Background()
	for _, r := range []auth.AdmissionRequest{
		podRequest(auth.Create, ann, privilegedPod("team-a", "bad"), nil),    // denied
		podRequest(auth.Create, ann, privilegedPod("team-a", "bad2"), nil),   // denied
		podRequest(auth.Create, trusted, privilegedPod("team-a", "ok"), nil), // exempt
	} {
		_ = p.Admit(ctx, &r)
	}

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()+"{"+labelText(m)+"}"] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		`pod_security_evaluations_total{decision="deny",mode="enforce",policy_level="restricted",policy_version="latest",request_operation="create",resource="pod",subresource=""}`: 2,
		`pod_security_exemptions_total{request_operation="create",resource="pod",subresource=""}`:                                                                                   1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v; gathered:\n%s", k, got[k], v, dump(got))
		}
	}
}

func labelText(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+`="`+l.GetValue()+`"`)
	}
	return strings.Join(parts, ",")
}

func dump(m map[string]float64) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k)
		b.WriteString(" ")
		b.WriteString(fmt.Sprint(v))
		b.WriteString("\n")
	}
	return b.String()
}
