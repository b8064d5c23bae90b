package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/component"
	"github.com/kemudi/kemudi/internal/cri"
	"github.com/kemudi/kemudi/internal/exepages"
)

// agentFlags are a node's flags: the kubelet's and the embedded
// runtime's, shared by `kemudi agent` and `kemudi server`.
type agentFlags struct {
	kubelet  kubeletFlags
	runtime  cri.Options
	socket   string
	services cluster.NodeServices
}

func (af *agentFlags) register(f *pflag.FlagSet) {
	d := cluster.DefaultAgentOptions(cluster.DefaultServerOptions().DataDir)
	af.kubelet.register(f, d.Kubelet)
	af.runtime = d.Runtime
	f.StringVar(&af.socket, "cri-socket", d.Socket, "unix socket the embedded runtime serves CRI on, for crictl (ignored with --runtime-endpoint)")
	f.StringVar(&af.runtime.StateDir, "runtime-state-dir", d.Runtime.StateDir, "runtime state that does not outlive a reboot (network namespaces)")
	f.StringVar(&af.runtime.RegistryConfig, "registry-config", "", "registries.yaml (k3s's format): mirrors, credentials, TLS and plain-HTTP registries")
	f.StringVar(&af.runtime.CNIConfDir, "cni-conf-dir", "", "CNI network configurations: hand the pod network to a CNI plugin chain (with --cni-bin-dir)")
	f.StringVar(&af.runtime.CNIBinDir, "cni-bin-dir", "", "CNI plugin binaries (with --cni-conf-dir)")
	af.services = d.Services
	f.BoolVar(&af.services.DisableProxy, "disable-proxy", false, "run no proxy on this node (Services' nftables rules come from elsewhere, or nowhere)")
	f.BoolVar(&af.services.DisableDNS, "disable-dns", false, "run no cluster DNS server on this node (its pods' questions to kube-dns then go unanswered)")
	f.BoolVar(&af.services.DisableLBAnnounce, "disable-lb-announce", false, "answer no ARP or NDP for load-balancer addresses on this node (another node, or another implementation, announces them)")
	f.BoolVar(&af.services.DisableLocalPath, "disable-local-path", false, "run no local-path provisioner on this node (claims of the local-path class placed here stay Pending)")
}

// options lays the node out under dataDir unless --root-dir names the
// kubelet's directory; an explicit --runtime-endpoint means the kubelet
// uses that runtime (containerd's, CRI-O's) instead of the embedded one.
func (af *agentFlags) options(f *pflag.FlagSet, dataDir string) (cluster.AgentOptions, error) {
	k, err := af.kubelet.options()
	if err != nil {
		return cluster.AgentOptions{}, err
	}
	if !f.Changed("root-dir") {
		k.RootDir = filepath.Join(dataDir, "agent", "kubelet")
	}
	if !f.Changed("pod-manifest-path") {
		k.PodManifestPath = filepath.Join(dataDir, "agent", "pod-manifests")
	}
	rt := af.runtime
	rt.Root = filepath.Join(dataDir, "agent", "runtime")
	s := af.services
	s.LocalPathDir = cluster.LocalPathDir(dataDir)
	return cluster.AgentOptions{
		Runtime:         rt,
		Socket:          af.socket,
		Kubelet:         k,
		ExternalRuntime: f.Changed("runtime-endpoint"),
		Services:        s,
	}, nil
}

func newAgentCommand() *cobra.Command {
	var af agentFlags
	var kubeconfig, dataDir string
	var join cluster.JoinOptions
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node: kemudi's container runtime, the kubelet, the proxy and cluster DNS, against any API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := af.options(cmd.Flags(), dataDir)
			if err != nil {
				return err
			}
			if err := cluster.CheckNodePrivileges(os.Geteuid()); err != nil {
				return err
			}
			// The kubelet's and proxy's ports and the CRI socket are
			// tried before anything starts (or joins).
			if err := cluster.CheckListeners(cluster.AgentListeners(o)); err != nil {
				return err
			}
			trimNode(cmd)
			// A CPU profile of the whole run, for the benchmarks (bench/kubeletbench).
			defer component.CPUProfile("KEMUDI_AGENT_CPUPROFILE", slog.Default())()
			if join.Server != "" || join.TokenFile != "" {
				return runJoined(cmd, kubeconfig, dataDir, join, o)
			}
			return runAgainst(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Kubelet.Log = slog.Default()
				return cluster.RunAgent(ctx, cfg, o)
			})
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server, with the node's identity (system:node:<name>)")
	cmd.Flags().StringVar(&join.Server, "server", "", "join the cluster at this API URL (https://IP:6443) with --token-file: the node gets its certificate through a CSR")
	cmd.Flags().StringVar(&join.TokenFile, "token-file", "", "the server's join token (its <data-dir>/node-token), with --server")
	cmd.Flags().StringVar(&dataDir, "data-dir", cluster.DefaultServerOptions().DataDir, "the node's state: <data-dir>/agent/{runtime,kubelet}")
	af.register(cmd.Flags())
	return cmd
}

// trimNode gives back, now and whenever the node has gone quiet after a
// burst (its start, pods started or removed), what the process touched
// and no longer uses: the whole binary's package initialisation
// (kubectl's above all), garbage (see exepages).
func trimNode(cmd *cobra.Command) {
	if _, err := exepages.Release(); err != nil {
		slog.Warn("release start-up pages", "err", err)
	}
	go exepages.TrimWhenIdle(cmd.Context(), slog.Default())
}
