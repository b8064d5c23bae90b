package cri

import (
	"context"
	"encoding/json"
	"net"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Status reports RuntimeReady (the supervisor answers) and NetworkReady
// (the pod network can set up pods: it has a pod CIDR, or a CNI config).
func (r *Runtime) Status(ctx context.Context, req *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	runtimeCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.RuntimeReady, Status: true}
	if _, err := r.supervisor.List(ctx); err != nil {
		runtimeCond.Status, runtimeCond.Reason, runtimeCond.Message = false, "SupervisorUnavailable", err.Error()
	}
	netCond := &runtimeapi.RuntimeCondition{Type: runtimeapi.NetworkReady, Status: true}
	if err := r.network.Status(); err != nil {
		netCond.Status, netCond.Reason, netCond.Message = false, "NetworkPluginNotReady", err.Error()
	}
	resp := &runtimeapi.StatusResponse{
		Status:          &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{runtimeCond, netCond}},
		RuntimeHandlers: runtimeHandlers(),
		Features:        &runtimeapi.RuntimeFeatures{SupplementalGroupsPolicy: true},
	}
	if req.GetVerbose() {
		cfg, _ := json.Marshal(map[string]any{
			"root": r.opts.Root, "stateDir": r.opts.StateDir, "podCIDR": r.opts.PodCIDR,
			"cniConfDir": r.opts.CNIConfDir, "cniBinDir": r.opts.CNIBinDir,
			"registryConfig": r.opts.RegistryConfig, "ociRuntime": r.opts.OCIRuntime,
			"cgroupDriver": "cgroupfs",
		})
		resp.Info = map[string]string{"config": string(cfg)}
	}
	return resp, nil
}

// defaultHandler is this runtime's one handler, built-in libcontainer;
// RuntimeClasses name it "runc", as containerd's default, and "" is it too.
const defaultHandler = "runc"

// runtimeHandlers are the handlers RuntimeClasses can name, as Status
// reports them to the kubelet (which lists them in the node's status).
func runtimeHandlers() []*runtimeapi.RuntimeHandler {
	out := []*runtimeapi.RuntimeHandler{}
	for _, name := range []string{"", defaultHandler} {
		out = append(out, &runtimeapi.RuntimeHandler{Name: name, Features: &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: true, UserNamespaces: true}})
	}
	return out
}

// UpdateRuntimeConfig takes the node's pod CIDR from the kubelet.
func (r *Runtime) UpdateRuntimeConfig(_ context.Context, req *runtimeapi.UpdateRuntimeConfigRequest) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	cidr := firstIPv4CIDR(req.GetRuntimeConfig().GetNetworkConfig().GetPodCidr())
	if cidr == "" {
		return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
	}
	if err := r.network.SetPodCIDR(cidr); err != nil {
		return nil, grpcError(invalidArg("runtime_config.network_config.pod_cidr", "%v", err))
	}
	r.log.Info("pod CIDR set", "cidr", cidr)
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}

// RuntimeConfig tells the kubelet which cgroup driver to use.
func (r *Runtime) RuntimeConfig(context.Context, *runtimeapi.RuntimeConfigRequest) (*runtimeapi.RuntimeConfigResponse, error) {
	return &runtimeapi.RuntimeConfigResponse{
		Linux: &runtimeapi.LinuxRuntimeConfiguration{CgroupDriver: runtimeapi.CgroupDriver_CGROUPFS},
	}, nil
}

// firstIPv4CIDR picks the IPv4 range of a dual-stack "v4,v6" list (the
// built-in network is IPv4 only); a single range is returned as is, so
// that a bad one is reported.
func firstIPv4CIDR(list string) string {
	parts := strings.Split(list, ",")
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if ip, _, err := net.ParseCIDR(p); err == nil && ip.To4() != nil {
			return p
		}
	}
	return strings.TrimSpace(parts[0])
}
