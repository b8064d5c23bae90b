package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestMetrics: each probe run counts under upstream's labels, by result;
// a pod that goes takes its series with it; a nil *Metrics counts
// nothing and does not panic.
func TestMetrics(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1"}}
	w := &worker{key: key{id: "c1", kind: Readiness}, pod: pod, target: Target{Container: &corev1.Container{Name: "app"}}}
	m := NewMetrics()
	m.observe(w, true, 3*time.Millisecond)
	m.observe(w, true, 2*time.Millisecond)
	m.observe(w, false, time.Second)
	want := `
# HELP prober_probe_total [BETA] Cumulative number of a liveness, readiness or startup probe for a container by result.
# TYPE prober_probe_total counter
prober_probe_total{container="app",namespace="shop",pod="web",pod_uid="u1",probe_type="Readiness",result="failed"} 1
prober_probe_total{container="app",namespace="shop",pod="web",pod_uid="u1",probe_type="Readiness",result="successful"} 2
`
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "prober_probe_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(m.Gatherer(), "prober_probe_duration_seconds"); err != nil || n != 1 {
		t.Errorf("duration series: %d, %v; want 1", n, err)
	}
	m.forget(w)
	if n, err := testutil.GatherAndCount(m.Gatherer()); err != nil || n != 0 {
		t.Errorf("series after the pod went: %d, %v; want 0", n, err)
	}
	var none *Metrics
	none.observe(w, true, time.Millisecond)
	none.forget(w)
}
