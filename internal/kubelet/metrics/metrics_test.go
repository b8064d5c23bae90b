package metrics

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
)

func TestOperationType(t *testing.T) {
	for method, want := range map[string]string{
		"/runtime.v1.RuntimeService/Version":                  "version",
		"/runtime.v1.RuntimeService/RunPodSandbox":            "run_podsandbox",
		"/runtime.v1.RuntimeService/ListPodSandbox":           "list_podsandbox",
		"/runtime.v1.RuntimeService/PodSandboxStatus":         "podsandbox_status",
		"/runtime.v1.RuntimeService/ListPodSandboxStats":      "list_podsandbox_stats",
		"/runtime.v1.RuntimeService/ListPodSandboxMetrics":    "list_podsandbox_metrics",
		"/runtime.v1.RuntimeService/CreateContainer":          "create_container",
		"/runtime.v1.RuntimeService/UpdateContainerResources": "update_container",
		"/runtime.v1.RuntimeService/ExecSync":                 "exec_sync",
		"/runtime.v1.RuntimeService/GetContainerEvents":       "get_container_events",
		"/runtime.v1.ImageService/ImageFsInfo":                "image_fs_info",
		"/runtime.v1.ImageService/PullImage":                  "pull_image",
	} {
		if got := OperationType(method); got != want {
			t.Errorf("OperationType(%q) = %q, want %q", method, got, want)
		}
	}
}

// conn answers every call, failing those of method fail.
type conn struct {
	grpc.ClientConnInterface
	fail string
}

func (c conn) Invoke(_ context.Context, method string, _, _ any, _ ...grpc.CallOption) error {
	if method == c.fail {
		return errors.New("boom")
	}
	return nil
}

func TestInstrument(t *testing.T) {
	m := New("n")
	c := m.Instrument(conn{fail: "/runtime.v1.RuntimeService/StopPodSandbox"})
	for _, method := range []string{"/runtime.v1.RuntimeService/ListContainers", "/runtime.v1.RuntimeService/ListContainers", "/runtime.v1.RuntimeService/StopPodSandbox"} {
		_ = c.Invoke(context.Background(), method, nil, nil)
	}
	for _, tc := range []struct {
		name, op string
		want     float64
	}{
		{"ops", "list_containers", 2},
		{"ops", "stop_podsandbox", 1},
		{"errors", "stop_podsandbox", 1},
		{"errors", "list_containers", 0},
	} {
		vec := m.runtimeOps
		if tc.name == "errors" {
			vec = m.runtimeErrors
		}
		if got := testutil.ToFloat64(vec.WithLabelValues(tc.op)); got != tc.want {
			t.Errorf("%s{%s} = %v, want %v", tc.name, tc.op, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m.runtimeDuration); n != 2 {
		t.Errorf("duration series = %d, want 2", n)
	}
}

// TestNilRecordsNothing: a kubelet without metrics calls the same code.
func TestNilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.PodStarted()
	m.ContainerStarted(ContainerTypeRegular)
	m.PodRunning(time.Now())
	m.PodSynced("sync", time.Now())
	m.Relisted(time.Now(), time.Time{})
	m.RuntimeOperation("version", time.Now(), nil)
	m.HTTPRequest("GET", "pods", false)
	if m.Gatherer() != nil {
		t.Error("nil metrics gather something")
	}
}

func TestRelisted(t *testing.T) {
	m := New("n")
	t0 := time.Now().Add(-2 * time.Second)
	m.Relisted(t0, time.Time{})
	m.Relisted(time.Now(), t0)
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range fams {
		if h := f.GetMetric()[0].GetHistogram(); h != nil {
			counts[f.GetName()] = h.GetSampleCount()
		}
	}
	// The first relist has no interval.
	if counts["kubelet_pleg_relist_interval_seconds"] != 1 || counts["kubelet_pleg_relist_duration_seconds"] != 2 {
		t.Errorf("relist observations = %v, want 1 interval and 2 durations", counts)
	}
}
