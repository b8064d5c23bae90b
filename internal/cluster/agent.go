package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cri"
	"github.com/kemudi/kemudi/internal/kubelet"
)

// AgentOptions configure a node: kemudi's container runtime and the
// kubelet in one process.
type AgentOptions struct {
	// Runtime configures the embedded runtime. Socket is where it also
	// serves CRI for crictl and other clients; "" serves it nowhere.
	Runtime cri.Options
	Socket  string
	// Kubelet configures the kubelet; its Runtime is set to the embedded
	// runtime unless RuntimeEndpoint names another one (containerd's).
	Kubelet kubelet.Options
	// ExternalRuntime: the kubelet dials Kubelet.RuntimeEndpoint and no
	// runtime runs here.
	ExternalRuntime bool
	// KubeletCADir holds the cluster CA's key when the node runs in kemudi
	// server: the kubelet's serving certificate is signed with it.
	KubeletCADir string
	// Services: the node's proxy, DNS server and local-path provisioner.
	Services NodeServices
	// ClusterCA (PEM) verifies client certificates at the kubelet's
	// server; "" takes the API client configuration's CA (a joined node's
	// rotating configuration has none: NodeClientCert.CA gives it).
	ClusterCA []byte
}

// DefaultAgentOptions lays a node's state out under dataDir/agent:
// runtime/ (images, sandboxes, containers), kubelet/ (pod volumes),
// storage/ (local-path volumes).
func DefaultAgentOptions(dataDir string) AgentOptions {
	k := kubelet.DefaultOptions()
	k.RootDir = filepath.Join(dataDir, "agent", "kubelet")
	// Static pods, as k3s: <data-dir>/agent/pod-manifests.
	k.PodManifestPath = filepath.Join(dataDir, "agent", "pod-manifests")
	// Disk thresholds as k3s's (5% where upstream's kubelet has 10% and
	// 15%): a single-machine cluster shares a disk with everything else
	// on it, and a node under DiskPressure is tainted and runs nothing.
	k.EvictionHard = kubelet.MustParseThresholds(AgentEvictionHard)
	s := DefaultNodeServices()
	s.LocalPathDir = LocalPathDir(dataDir)
	return AgentOptions{
		Runtime: cri.Options{
			Root:         filepath.Join(dataDir, "agent", "runtime"),
			StateDir:     cri.DefaultStateDir,
			CgroupParent: cri.DefaultCgroupParent,
		},
		Socket:   cri.DefaultSocket,
		Kubelet:  k,
		Services: s,
	}
}

// AgentEvictionHard is a kemudi node's default --eviction-hard.
const AgentEvictionHard = "memory.available<100Mi,nodefs.available<5%,nodefs.inodesFree<5%,imagefs.available<5%"

// LocalPathDir holds a node's local-path volumes, as k3s's
// <data-dir>/storage: <data-dir>/agent/storage.
func LocalPathDir(dataDir string) string { return filepath.Join(dataDir, "agent", "storage") }

// RunAgent runs a node until ctx ends: the runtime, served on its socket,
// and the kubelet, which reaches it through the CRI only (over an
// in-memory gRPC connection: the same protocol as the socket), and beside
// them the node's proxy and DNS server (agent_services.go). Containers
// keep running after it returns; a restarted agent adopts them.
func RunAgent(ctx context.Context, cfg *rest.Config, o AgentOptions) error {
	return runWithNodeServices(ctx, cfg, o, runNode)
}

// runNode runs the runtime and the kubelet.
func runNode(ctx context.Context, cfg *rest.Config, o AgentOptions) error {
	if o.ExternalRuntime {
		return runKubelet(ctx, cfg, o, nil)
	}
	if o.Runtime.Log == nil {
		o.Runtime.Log = o.Kubelet.Log
	}
	rt, err := cri.New(ctx, o.Runtime)
	if err != nil {
		return fmt.Errorf("agent runtime: %w", err)
	}
	defer rt.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	if o.Socket != "" {
		l, err := cri.Listen(o.Socket)
		if err != nil {
			return fmt.Errorf("agent runtime socket: %w", err)
		}
		defer os.Remove(o.Socket)
		go func() { served <- rt.Serve(ctx, l) }()
	}

	client, closeClient, err := kubelet.InProcess(rt, rt)
	if err != nil {
		return err
	}
	defer closeClient()
	err = runKubelet(ctx, cfg, o, client)
	cancel()
	if o.Socket != "" {
		if serr := <-served; serr != nil && err == nil {
			err = serr
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// AgentComponent is the node `kemudi server` runs for its own machine: an
// API client like the control-plane components, with the node's identity
// (system:node:<name> in system:nodes, which the Node authorizer knows).
func AgentComponent(o AgentOptions) (Component, error) {
	if o.Kubelet.NodeName == "" {
		host, err := os.Hostname()
		if err != nil {
			return Component{}, fmt.Errorf("node name: %w", err)
		}
		o.Kubelet.NodeName = strings.ToLower(host)
	}
	return Component{
		Name:   "agent",
		User:   "system:node:" + o.Kubelet.NodeName,
		Groups: []string{"system:nodes"},
		Run: func(ctx context.Context, cfg *rest.Config, log *slog.Logger) error {
			o := o
			o.Kubelet.Log = log.With("component", "agent")
			return RunAgent(ctx, cfg, o)
		},
	}, nil
}
