package cri

import (
	"context"
	"encoding/json"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodSandboxStatus reports a sandbox, with its IP; verbose adds the
// record (namespace paths, cgroup parent, config) as crictl inspectp shows.
func (r *Runtime) PodSandboxStatus(_ context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	sb, err := r.sandboxes.get(req.GetPodSandboxId())
	if err != nil {
		return nil, grpcError(fmt.Errorf("sandbox %s: %w", req.GetPodSandboxId(), err))
	}
	resp := &runtimeapi.PodSandboxStatusResponse{Status: r.sandboxStatus(sb)}
	if req.GetVerbose() {
		info, _ := json.Marshal(map[string]any{
			"netns": sb.NetNS, "ipcns": sb.IPCNS, "utsns": sb.UTSNS, "pidns": sb.PIDNS,
			"cgroupParent": sb.CgroupParent, "config": sb.Config, "runtimeHandler": sb.RuntimeHandler,
		})
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

func (r *Runtime) sandboxStatus(sb sandbox) *runtimeapi.PodSandboxStatus {
	st := &runtimeapi.PodSandboxStatus{
		Id:             sb.ID,
		Metadata:       sb.Config.GetMetadata(),
		State:          sb.State,
		CreatedAt:      sb.CreatedAt,
		Labels:         sb.Config.GetLabels(),
		Annotations:    sb.Config.GetAnnotations(),
		RuntimeHandler: sb.RuntimeHandler,
		Network:        &runtimeapi.PodSandboxNetworkStatus{},
		Linux: &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{
			Options: sb.namespaceOptions(),
		}},
	}
	if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY && len(sb.IPs) > 0 {
		st.Network.Ip = sb.IPs[0]
		for _, ip := range sb.IPs[1:] {
			st.Network.AdditionalIps = append(st.Network.AdditionalIps, &runtimeapi.PodIP{Ip: ip})
		}
	}
	return st
}

// ListPodSandbox lists sandboxes matching the filter: id (or an id
// prefix), state, and every label of the selector.
func (r *Runtime) ListPodSandbox(_ context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f := req.GetFilter()
	resp := &runtimeapi.ListPodSandboxResponse{Items: []*runtimeapi.PodSandbox{}}
	for _, sb := range r.sandboxes.list() {
		if f.GetId() != "" && !hasPrefix(sb.ID, f.GetId()) {
			continue
		}
		if f.GetState() != nil && f.GetState().GetState() != sb.State {
			continue
		}
		if !labelsMatch(sb.Config.GetLabels(), f.GetLabelSelector()) {
			continue
		}
		resp.Items = append(resp.Items, &runtimeapi.PodSandbox{
			Id: sb.ID, Metadata: sb.Config.GetMetadata(), State: sb.State, CreatedAt: sb.CreatedAt,
			Labels: sb.Config.GetLabels(), Annotations: sb.Config.GetAnnotations(), RuntimeHandler: sb.RuntimeHandler,
		})
	}
	return resp, nil
}

func hasPrefix(id, prefix string) bool { return len(id) >= len(prefix) && id[:len(prefix)] == prefix }

func labelsMatch(labels, selector map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
