package cri

import (
	"context"
	"errors"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// RemoveContainer kills the container if it still runs, deletes it from
// the supervisor (process, cgroup), unmounts and removes its writable
// layer and forgets it. An unknown container is already removed.
func (r *Runtime) RemoveContainer(ctx context.Context, req *runtimeapi.RemoveContainerRequest) (*runtimeapi.RemoveContainerResponse, error) {
	c, err := r.containers.get(req.GetContainerId())
	if errors.Is(err, errNotFound) {
		return &runtimeapi.RemoveContainerResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(err)
	}
	if err := r.removeContainer(ctx, c.ID); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.RemoveContainerResponse{}, nil
}

func (r *Runtime) removeContainer(ctx context.Context, id string) error {
	if err := r.stopContainer(ctx, id, 0); err != nil {
		return err
	}
	unlock := r.locks.lock(id)
	defer unlock()
	c, err := r.containers.get(id)
	if err != nil {
		return nil
	}
	if err := r.supervisor.Delete(ctx, id); err != nil && !errors.Is(err, supervisor.ErrNotFound) {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	if err := image.Unmount(c.Rootfs); err != nil {
		return fmt.Errorf("unmount the rootfs of container %s: %w", id, err)
	}
	if err := r.images.RemoveRootfs(c.rootfsKey()); err != nil {
		return fmt.Errorf("remove the rootfs of container %s: %w", id, err)
	}
	if err := r.removeImageVolumes(id, r.containers.recordDir(id)); err != nil {
		return err
	}
	if err := r.containers.remove(id); err != nil {
		return err
	}
	r.events.notifyChange()
	r.stats.forget(id)
	r.emitContainerEvent(id, c.SandboxID, runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT)
	return nil
}
