package cri

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ListMetricDescriptors is not implemented yet: stats come from
// ContainerStats and PodSandboxStats. A runtime that answers it must give
// cAdvisor's whole set (critest checks some 45 series: CPU throttling,
// memory cache and failures, threads, file descriptors, ...), which needs
// more of each cgroup than the supervisor reports today.
func (r *Runtime) ListMetricDescriptors(context.Context, *runtimeapi.ListMetricDescriptorsRequest) (*runtimeapi.ListMetricDescriptorsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "ListMetricDescriptors is not implemented by kemudi's runtime yet; use ContainerStats and PodSandboxStats")
}

// ListPodSandboxMetrics is not implemented yet.
func (r *Runtime) ListPodSandboxMetrics(context.Context, *runtimeapi.ListPodSandboxMetricsRequest) (*runtimeapi.ListPodSandboxMetricsResponse, error) {
	return nil, status.Error(codes.Unimplemented, "ListPodSandboxMetrics is not implemented by kemudi's runtime yet; use PodSandboxStats")
}

// CheckpointContainer is not supported (no CRIU).
func (r *Runtime) CheckpointContainer(context.Context, *runtimeapi.CheckpointContainerRequest) (*runtimeapi.CheckpointContainerResponse, error) {
	return nil, status.Error(codes.Unimplemented, "CheckpointContainer is not supported by kemudi's runtime (built without CRIU)")
}
