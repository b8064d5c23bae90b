package dns

import (
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestTrimKeepsRecords: the informers' trimmed objects give the same
// records as the whole ones, and drop what the records do not need.
func TestTrimKeepsRecords(t *testing.T) {
	svcs, eps := specFixture()
	for _, s := range svcs {
		s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 1000)}
		s.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
		s.Spec.Selector = map[string]string{"app": s.Name}
	}
	eps[0].Endpoints[0].NodeName = ptr.To("node-1")
	eps[0].Endpoints[0].TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: "my-pet-0"}
	var tsvcs []*corev1.Service
	for _, s := range svcs {
		o, _ := trim(s)
		ts := o.(*corev1.Service)
		if ts.Annotations != nil || ts.ManagedFields != nil || ts.Spec.Selector != nil {
			t.Errorf("%s: trimmed service keeps %+v", s.Name, ts.ObjectMeta)
		}
		tsvcs = append(tsvcs, ts)
	}
	var teps []*discoveryv1.EndpointSlice
	for _, e := range eps {
		o, _ := trim(e)
		teps = append(teps, o.(*discoveryv1.EndpointSlice))
	}
	if teps[0].Endpoints[0].TargetRef != nil || teps[0].Endpoints[0].NodeName != nil {
		t.Errorf("trimmed endpoint keeps %+v", teps[0].Endpoints[0])
	}
	cfg := SnapshotConfig{Zone: "cluster.local", TTL: 5, DNSService: "kube-system/kube-dns", Serial: 1}
	if got, want := dump(BuildSnapshot(cfg, tsvcs, teps)), dump(BuildSnapshot(cfg, svcs, eps)); got != want {
		t.Errorf("records of trimmed objects:\n%s\nwant:\n%s", got, want)
	}
}

func dump(s *Snapshot) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(s.names)) {
		b.WriteString(name + "\n")
		set := slices.Clone(s.names[name])
		slices.SortFunc(set, func(a, b rrset) int { return int(a.typ) - int(b.typ) })
		for _, r := range set {
			for _, rr := range r.rrs {
				b.WriteString("\t" + rr.String() + "\n")
			}
		}
	}
	return b.String()
}
