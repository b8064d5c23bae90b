package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// serveMetrics serves /metrics: the kubelet's own metrics (the runtime's
// calls, pod starts and syncs, relists, this server's requests, process
// and Go) and the running pods and containers, counted from the runtime
// at each scrape.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	gs := prometheus.Gatherers{s.running}
	if g := s.cfg.Metrics.Gatherer(); g != nil {
		gs = append(gs, g)
	}
	promhttp.HandlerFor(gs, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// metricPaths are the first path segments upstream's
// kubelet_http_requests_total names (the endpoints kemudi serves); other
// paths count as "other".
var metricPaths = map[string]bool{
	"healthz": true, "pods": true, "runningpods": true, "stats": true, "metrics": true,
	"metrics/cadvisor": true, "metrics/probes": true, "metrics/resource": true,
	"run": true, "exec": true, "attach": true, "portForward": true, "containerLogs": true, "logs": true,
}

var metricMethods = map[string]bool{
	"OPTIONS": true, "GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "TRACE": true, "CONNECT": true,
}

// metricLabels are a request's method, path and long_running labels as
// upstream buckets them (upstream's long-running list spells
// "portforward", so port-forwards do not count as long-running there).
func metricLabels(method, path string) (string, string, bool) {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	root := parts[0]
	if root == "metrics" && len(parts) > 1 {
		root += "/" + parts[1]
	}
	if !metricPaths[root] {
		root = "other"
	}
	if !metricMethods[method] {
		method = "other"
	}
	return method, root, root == "exec" || root == "attach"
}

// runningCollector counts upstream's kubelet_running_pods (pods with a
// ready sandbox) and kubelet_running_containers by container_state, from
// the runtime when scraped.
type runningCollector struct {
	rt runtimeapi.RuntimeServiceClient
}

var (
	runningPodsDesc = prometheus.NewDesc("kubelet_running_pods",
		"Number of pods that have a running pod sandbox", nil, nil)
	runningContainersDesc = prometheus.NewDesc("kubelet_running_containers",
		"Number of containers currently running", []string{"container_state"}, nil)
)

func (c runningCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- runningPodsDesc
	ch <- runningContainersDesc
}

func (c runningCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, states, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(runningPodsDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(runningPodsDesc, prometheus.GaugeValue, float64(pods))
	for st, n := range states {
		ch <- prometheus.MustNewConstMetric(runningContainersDesc, prometheus.GaugeValue, float64(n), st)
	}
}

// containerStates are upstream's container_state values.
var containerStates = map[runtimeapi.ContainerState]string{
	runtimeapi.ContainerState_CONTAINER_CREATED: "created",
	runtimeapi.ContainerState_CONTAINER_RUNNING: "running",
	runtimeapi.ContainerState_CONTAINER_EXITED:  "exited",
	runtimeapi.ContainerState_CONTAINER_UNKNOWN: "unknown",
}

// count counts the runtime's pods and containers that belong to pods.
func (c runningCollector) count(ctx context.Context) (int, map[string]int, error) {
	sbs, err := c.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
	}})
	if err != nil {
		return 0, nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	pods := map[string]bool{}
	for _, sb := range sbs.Items {
		if uid := sb.GetMetadata().GetUid(); uid != "" {
			pods[uid] = true
		}
	}
	cs, err := c.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return 0, nil, fmt.Errorf("list containers: %w", err)
	}
	states := map[string]int{}
	for _, ct := range cs.Containers {
		if ct.Labels["io.kubernetes.pod.uid"] == "" {
			continue
		}
		st, ok := containerStates[ct.State]
		if !ok {
			st = "unknown"
		}
		states[st]++
	}
	return len(pods), states, nil
}
