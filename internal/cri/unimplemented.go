package cri

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The streaming verbs need the streaming server, which is not built yet.

func notYet(what string) error {
	return status.Errorf(codes.Unimplemented, "%s is not implemented by kemudi's runtime yet (the streaming server is a later step)", what)
}

// ExecSync is not implemented yet.
func (r *Runtime) ExecSync(context.Context, *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	return nil, notYet("ExecSync")
}

// Exec is not implemented yet.
func (r *Runtime) Exec(context.Context, *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	return nil, notYet("Exec")
}

// Attach is not implemented yet.
func (r *Runtime) Attach(context.Context, *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return nil, notYet("Attach")
}

// PortForward is not implemented yet.
func (r *Runtime) PortForward(context.Context, *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return nil, notYet("PortForward")
}

// ListMetricDescriptors is not implemented yet: stats come from
// ContainerStats and PodSandboxStats.
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
