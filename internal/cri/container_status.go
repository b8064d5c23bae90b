package cri

import (
	"context"
	"encoding/json"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerStatus reports a container; verbose adds its pid, rootfs and
// sandbox as crictl inspect shows.
func (r *Runtime) ContainerStatus(_ context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	c, err := r.containers.get(req.GetContainerId())
	if err != nil {
		return nil, grpcError(fmt.Errorf("container %s: %w", req.GetContainerId(), err))
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: r.containerStatus(c)}
	if req.GetVerbose() {
		info, _ := json.Marshal(map[string]any{
			"pid": c.Pid, "sandboxID": c.SandboxID, "rootfs": c.Rootfs, "config": c.Config,
		})
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

func (r *Runtime) containerStatus(c container) *runtimeapi.ContainerStatus {
	cfg := c.Config
	st := &runtimeapi.ContainerStatus{
		Id:          c.ID,
		Metadata:    cfg.GetMetadata(),
		State:       c.State,
		CreatedAt:   c.CreatedAt,
		StartedAt:   c.StartedAt,
		FinishedAt:  c.FinishedAt,
		ExitCode:    c.ExitCode,
		Image:       &runtimeapi.ImageSpec{Image: c.ImageName, Annotations: cfg.GetImage().GetAnnotations()},
		ImageRef:    c.ImageID,
		ImageId:     c.ImageID,
		Labels:      cfg.GetLabels(),
		Annotations: cfg.GetAnnotations(),
		Mounts:      cfg.GetMounts(),
		LogPath:     c.LogPath,
		Message:     c.Message,
		StopSignal:  cfg.GetStopSignal(),
		User:        c.User.status(),
	}
	if res := cfg.GetLinux().GetResources(); res != nil {
		st.Resources = &runtimeapi.ContainerResources{Linux: res}
	}
	st.Reason = containerReason(c)
	return st
}

// containerReason says why a container exited, as the kubelet shows it.
func containerReason(c container) string {
	if c.State != runtimeapi.ContainerState_CONTAINER_EXITED {
		return c.Reason
	}
	switch {
	case c.OOMKilled:
		return "OOMKilled"
	case c.Reason != "":
		return c.Reason
	case c.ExitCode == 0:
		return "Completed"
	}
	return "Error"
}

// ListContainers lists containers matching the filter: id (or prefix),
// state, sandbox id (or prefix), and every label of the selector.
func (r *Runtime) ListContainers(_ context.Context, req *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	f := req.GetFilter()
	resp := &runtimeapi.ListContainersResponse{Containers: []*runtimeapi.Container{}}
	for _, c := range r.containers.list() {
		if !containerMatches(c, f.GetId(), f.GetPodSandboxId(), f.GetLabelSelector()) {
			continue
		}
		if f.GetState() != nil && f.GetState().GetState() != c.State {
			continue
		}
		resp.Containers = append(resp.Containers, &runtimeapi.Container{
			Id: c.ID, PodSandboxId: c.SandboxID, Metadata: c.Config.GetMetadata(),
			Image: &runtimeapi.ImageSpec{Image: c.ImageName}, ImageRef: c.ImageID, ImageId: c.ImageID,
			State: c.State, CreatedAt: c.CreatedAt,
			Labels: c.Config.GetLabels(), Annotations: c.Config.GetAnnotations(),
		})
	}
	return resp, nil
}

func containerMatches(c container, id, sandboxID string, labels map[string]string) bool {
	return (id == "" || hasPrefix(c.ID, id)) &&
		(sandboxID == "" || hasPrefix(c.SandboxID, sandboxID)) &&
		labelsMatch(c.Config.GetLabels(), labels)
}
