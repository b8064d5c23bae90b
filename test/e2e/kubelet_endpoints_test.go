package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// testKubeletEndpoints drives the kubelet's /metrics, /logs/ and /run
// through the API server's nodes/proxy, as a user with kubectl would,
// once pods run on node-1.
func testKubeletEndpoints(t *testing.T, n *serverNode) {
	metrics := n.kubectl("get", "--raw", "/api/v1/nodes/node-1/proxy/metrics")
	for _, tc := range []struct {
		series string
		min    float64
	}{
		{`kubelet_node_name{node="node-1"}`, 1},
		{"kubelet_running_pods", 1},
		{`kubelet_running_containers{container_state="running"}`, 1},
		{"kubelet_started_pods_total", 1},
		{`kubelet_started_containers_total{container_type="container"}`, 1},
		{"kubelet_pod_start_duration_seconds_count", 1},
		{`kubelet_pod_worker_duration_seconds_count{operation_type="create"}`, 1},
		{`kubelet_runtime_operations_total{operation_type="run_podsandbox"}`, 1},
		{`kubelet_runtime_operations_duration_seconds_count{operation_type="create_container"}`, 1},
		{`kubelet_http_requests_total{long_running="false",method="GET",path="metrics",server_type="readwrite"}`, 1},
		{"process_resident_memory_bytes", 1},
	} {
		if v, ok := sample(metrics, tc.series); !ok || v < tc.min {
			t.Errorf("kubelet /metrics: %s = %v (present: %v), want ≥ %v", tc.series, v, ok, tc.min)
		}
	}

	if out := n.kubectl("get", "--raw", "/api/v1/nodes/node-1/proxy/logs/"); !strings.Contains(out, "<a href=") {
		t.Errorf("kubelet /logs/ lists no file:\n%s", out)
	}

	out, err := n.kubectlEnv(nil, "", "create", "--raw", "/api/v1/nodes/node-1/proxy/run/default/web/web?cmd=echo%20hello%20run", "-f", "-")
	if err != nil || out != "hello run\n" {
		t.Errorf("kubelet /run = %q, %v; want the command's output", out, err)
	}
	out, err = n.kubectlEnv(nil, "", "create", "--raw", "/api/v1/nodes/node-1/proxy/run/default/nope/web?cmd=true", "-f", "-")
	if err == nil || !strings.Contains(out, "NotFound") && !strings.Contains(out, "not found") {
		t.Errorf("kubelet /run of a pod that does not exist = %q, %v; want a 404", out, err)
	}
}

// sample is the value of the exposition's series (name and labels as
// written), if present.
func sample(exposition, series string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(exposition)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}
