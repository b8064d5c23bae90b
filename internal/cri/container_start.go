package cri

import (
	"context"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StartContainer starts a CREATED container.
func (r *Runtime) StartContainer(ctx context.Context, req *runtimeapi.StartContainerRequest) (*runtimeapi.StartContainerResponse, error) {
	c, err := r.containers.get(req.GetContainerId())
	if err != nil {
		return nil, grpcError(fmt.Errorf("container %s: %w", req.GetContainerId(), err))
	}
	unlock := r.locks.lock(c.ID)
	defer unlock()
	if c, err = r.containers.get(c.ID); err != nil {
		return nil, grpcError(err)
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_CREATED {
		return nil, grpcError(failedPrecondition("container %s is %s, not CREATED", c.ID, stateName(c.State)))
	}
	sb, err := r.sandboxes.get(c.SandboxID)
	if err != nil || sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		return nil, grpcError(failedPrecondition("sandbox %s of container %s is not ready", c.SandboxID, c.ID))
	}
	st, startErr := r.supervisor.Start(ctx, c.ID)
	if startErr != nil {
		// the supervisor records why (exec failed...); mirror it
		if s, err := r.supervisor.State(context.WithoutCancel(ctx), c.ID); err == nil {
			st = s
		}
	}
	if st.ID != "" {
		r.applyState(st, -1)
	}
	if startErr != nil {
		return nil, grpcError(fmt.Errorf("start container %s: %w", c.ID, startErr))
	}
	return &runtimeapi.StartContainerResponse{}, nil
}

func stateName(s runtimeapi.ContainerState) string {
	return runtimeapi.ContainerState_name[int32(s)]
}
