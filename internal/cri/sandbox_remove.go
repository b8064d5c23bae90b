package cri

import (
	"context"
	"errors"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RemovePodSandbox stops the sandbox if it still runs, removes its
// containers, its namespaces, cgroup and files, and forgets it. An unknown
// sandbox is already removed.
func (r *Runtime) RemovePodSandbox(ctx context.Context, req *runtimeapi.RemovePodSandboxRequest) (*runtimeapi.RemovePodSandboxResponse, error) {
	sb, err := r.sandboxes.get(req.GetPodSandboxId())
	if errors.Is(err, errNotFound) {
		return &runtimeapi.RemovePodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(err)
	}
	if err := r.stopSandbox(ctx, sb); err != nil {
		return nil, grpcError(err)
	}
	for _, c := range r.containersOf(sb.ID) {
		if err := r.removeContainer(ctx, c.ID); err != nil {
			return nil, grpcError(fmt.Errorf("remove container %s of sandbox %s: %w", c.ID, sb.ID, err))
		}
	}
	unlock := r.locks.lock(sb.ID)
	defer unlock()
	if err := r.supervisor.RemoveSandbox(ctx, sb.ID); err != nil {
		return nil, grpcError(fmt.Errorf("remove sandbox %s: %w", sb.ID, err))
	}
	if err := r.sandboxes.remove(sb.ID); err != nil {
		return nil, grpcError(err)
	}
	r.log.Info("sandbox removed", "id", sb.ID)
	r.events.publish(&runtimeapi.ContainerEventResponse{
		ContainerId: sb.ID, ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, CreatedAt: now(),
	})
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}
