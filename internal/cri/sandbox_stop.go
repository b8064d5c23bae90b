package cri

import (
	"context"
	"errors"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/network"
)

// StopPodSandbox kills the pod's containers, tears its network down and
// removes its network namespace; the record stays (NOTREADY) until
// RemovePodSandbox. Stopping twice is fine, and so is stopping a sandbox
// that is gone: the CRI makes the call idempotent (the kubelet retries it).
func (r *Runtime) StopPodSandbox(ctx context.Context, req *runtimeapi.StopPodSandboxRequest) (*runtimeapi.StopPodSandboxResponse, error) {
	sb, err := r.sandboxes.get(req.GetPodSandboxId())
	if errors.Is(err, errNotFound) {
		return &runtimeapi.StopPodSandboxResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(fmt.Errorf("sandbox %s: %w", req.GetPodSandboxId(), err))
	}
	if err := r.stopSandbox(ctx, sb); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

func (r *Runtime) stopSandbox(ctx context.Context, sb sandbox) error {
	for _, c := range r.containersOf(sb.ID) {
		if err := r.stopContainer(ctx, c.ID, 0); err != nil {
			return fmt.Errorf("stop container %s of sandbox %s: %w", c.ID, sb.ID, err)
		}
	}
	unlock := r.locks.lock(sb.ID)
	defer unlock()
	if !sb.hostNetwork() {
		if err := r.network.Teardown(ctx, sandboxNet(sb)); err != nil {
			return fmt.Errorf("tear down the network of sandbox %s: %w", sb.ID, err)
		}
		if err := network.RemoveNetNS(sb.NetNS); err != nil {
			return fmt.Errorf("remove the network namespace of sandbox %s: %w", sb.ID, err)
		}
	}
	if err := unmountSandboxShm(sb); err != nil {
		return err
	}
	was := sb.State
	if _, err := r.sandboxes.update(sb.ID, func(s *sandbox) error {
		s.State = runtimeapi.PodSandboxState_SANDBOX_NOTREADY
		s.NetworkReady = false
		return nil
	}); err != nil {
		return err
	}
	if was == runtimeapi.PodSandboxState_SANDBOX_READY {
		r.log.Info("sandbox stopped", "id", sb.ID)
		r.emitContainerEvent(sb.ID, sb.ID, runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT)
	}
	return nil
}
