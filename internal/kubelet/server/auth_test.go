package server

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSubresourcesFor(t *testing.T) {
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/stats/summary", []string{"stats"}},
		{"/metrics/resource", []string{"metrics"}},
		{"/metrics", []string{"metrics"}},
		{"/logs/syslog", []string{"log"}},
		{"/healthz", []string{"healthz", "proxy"}},
		{"/pods", []string{"pods", "proxy"}},
		{"/runningpods/", []string{"pods", "proxy"}},
		{"/exec/default/web/web", []string{"proxy"}},
		{"/containerLogs/default/web/web", []string{"proxy"}},
		{"/portForward/default/web", []string{"proxy"}},
		{"/statsx", []string{"proxy"}},
	} {
		if got := subresourcesFor(tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("subresourcesFor(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestLogContainerID(t *testing.T) {
	terminated := func(id string) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{ContainerID: id}
	}
	for _, tc := range []struct {
		name     string
		cs       *corev1.ContainerStatus
		previous bool
		want     string
		wantErr  string
	}{
		{name: "no status yet", wantErr: `container "c" in pod "p" is waiting to start: ContainerCreating`},
		{name: "running", cs: &corev1.ContainerStatus{ContainerID: "kemudi://abc", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}, want: "abc"},
		{name: "previous", cs: &corev1.ContainerStatus{ContainerID: "kemudi://new", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: terminated("kemudi://old")}}, previous: true, want: "old"},
		{name: "no previous", cs: &corev1.ContainerStatus{ContainerID: "kemudi://new", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			previous: true, wantErr: `previous terminated container "c" in pod "p" not found`},
		{name: "crash looping: the last run's log", cs: &corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: terminated("kemudi://last")}}, want: "last"},
		{name: "terminated", cs: &corev1.ContainerStatus{State: corev1.ContainerState{Terminated: terminated("kemudi://done")}}, want: "done"},
		{name: "image pull failing", cs: &corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}},
			wantErr: `container "c" in pod "p" is waiting to start: trying and failing to pull image`},
		{name: "creating", cs: &corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}},
			wantErr: `container "c" in pod "p" is waiting to start: ContainerCreating`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
			if tc.cs != nil {
				cs := *tc.cs
				cs.Name = "c"
				pod.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
			}
			got, err := logContainerID(pod, "c", tc.previous)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestResourceMetrics: /metrics/resource parses as Prometheus text with
// upstream's names and labels, which metrics-server reads.
func TestResourceMetrics(t *testing.T) {
	now := metav1.NewTime(time.Unix(1700000000, 0))
	sum := &Summary{
		Node: NodeStats{NodeName: "n", CPU: &CPUStats{Time: now, UsageCoreNanoSeconds: u64(2_500_000_000)}, Memory: &MemoryStats{Time: now, WorkingSetBytes: u64(1 << 30)}},
		Pods: []PodStats{{
			PodRef: PodReference{Name: "web", Namespace: "default"},
			CPU:    &CPUStats{Time: now, UsageCoreNanoSeconds: u64(1_000_000_000)},
			Memory: &MemoryStats{Time: now, WorkingSetBytes: u64(4096)},
			Containers: []ContainerStats{{Name: "c", StartTime: now,
				CPU: &CPUStats{Time: now, UsageCoreNanoSeconds: u64(500_000_000)}, Memory: &MemoryStats{Time: now, WorkingSetBytes: u64(2048)}}},
		}},
	}
	var b strings.Builder
	writeResourceMetrics(&b, sum)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f, ok := families[name]
		if !ok {
			t.Fatalf("no %s in\n%s", name, b.String())
		}
	next:
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
		t.Fatalf("no %s%v in\n%s", name, labels, b.String())
		return 0
	}
	pod := map[string]string{"namespace": "default", "pod": "web"}
	ctr := map[string]string{"namespace": "default", "pod": "web", "container": "c"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"node_cpu_usage_seconds_total", nil, 2.5},
		{"node_memory_working_set_bytes", nil, 1 << 30},
		{"pod_cpu_usage_seconds_total", pod, 1},
		{"pod_memory_working_set_bytes", pod, 4096},
		{"container_cpu_usage_seconds_total", ctr, 0.5},
		{"container_memory_working_set_bytes", ctr, 2048},
		{"container_start_time_seconds", ctr, 1700000000},
		{"scrape_error", nil, 0},
		{"resource_scrape_error", nil, 0},
	} {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}
