package cri

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// UpdateContainerResources changes a container's cgroup limits, and
// records them so that status and a restart see them.
func (r *Runtime) UpdateContainerResources(ctx context.Context, req *runtimeapi.UpdateContainerResourcesRequest) (*runtimeapi.UpdateContainerResourcesResponse, error) {
	c, err := r.containers.get(req.GetContainerId())
	if err != nil {
		return nil, grpcError(fmt.Errorf("container %s: %w", req.GetContainerId(), err))
	}
	unlock := r.locks.lock(c.ID)
	defer unlock()
	res, err := linuxResources(req.GetLinux(), r.swapAvailable)
	if err != nil {
		if inv, ok := err.(*invalidArgumentError); ok {
			inv.Field = "linux." + strings.TrimPrefix(inv.Field, "config.linux.resources.")
		}
		return nil, grpcError(err)
	}
	if c.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		return nil, grpcError(failedPrecondition("container %s has exited", c.ID))
	}
	res.Devices = nil // the device cgroup stays as created
	if err := r.supervisor.Update(ctx, c.ID, res); err != nil {
		return nil, grpcError(fmt.Errorf("update container %s: %w", c.ID, err))
	}
	if _, err := r.containers.update(c.ID, func(c *container) error {
		cfg := proto.Clone(c.Config).(*runtimeapi.ContainerConfig)
		if cfg.Linux == nil {
			cfg.Linux = &runtimeapi.LinuxContainerConfig{}
		}
		cfg.Linux.Resources = req.GetLinux()
		c.Config = cfg
		return nil
	}); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.UpdateContainerResourcesResponse{}, nil
}

// ReopenContainerLog has the supervisor reopen a running container's log
// file (after the kubelet rotated it).
func (r *Runtime) ReopenContainerLog(ctx context.Context, req *runtimeapi.ReopenContainerLogRequest) (*runtimeapi.ReopenContainerLogResponse, error) {
	c, err := r.containers.get(req.GetContainerId())
	if err != nil {
		return nil, grpcError(fmt.Errorf("container %s: %w", req.GetContainerId(), err))
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return nil, grpcError(failedPrecondition("container %s is not running", c.ID))
	}
	if err := r.supervisor.ReopenLog(ctx, c.ID); err != nil {
		return nil, grpcError(fmt.Errorf("reopen the log of container %s: %w", c.ID, err))
	}
	return &runtimeapi.ReopenContainerLogResponse{}, nil
}
