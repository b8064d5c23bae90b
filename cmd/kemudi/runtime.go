package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/kemudi/kemudi/internal/component"
	"github.com/kemudi/kemudi/internal/cri"
)

func newRuntimeCommand() *cobra.Command {
	var o cri.Options
	var listen string
	cmd := &cobra.Command{
		Use:   "runtime",
		Short: "Run the container runtime alone: CRI v1 on a unix socket, for the kubelet, crictl and critest",
		Long: `Run the container runtime alone: CRI v1 on a unix socket, for the kubelet, crictl and critest.

--registry-config names a registries.yaml in k3s's format: per-registry
mirrors (tried in order, then the registry itself; "*" mirrors every
registry without an entry of its own; an http:// endpoint is plain HTTP),
optional repository rewrites, and per-host credentials and TLS. For
example, to serve docker.io and registry.k8s.io images from a local
registry:

  mirrors:
    docker.io:
      endpoint: ["http://127.0.0.1:5000"]
    registry.k8s.io:
      endpoint: ["http://127.0.0.1:5000"]
  configs:
    registry.example.com:
      auth: {username: u, password: p}
      tls: {ca_file: /etc/kemudi/ca.pem}

An image keeps the name it was asked for (registry.k8s.io/pause:3.9),
whichever endpoint served it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := component.SignalContext(cmd.Context())
			defer cancel()
			o.Log = slog.Default()
			// A CPU profile of the whole run, for the benchmarks (bench/cribench).
			defer component.CPUProfile("KEMUDI_RUNTIME_CPUPROFILE", o.Log)()
			// The heap as the runtime stops (idle, for the benchmarks).
			if p := os.Getenv("KEMUDI_RUNTIME_MEMPROFILE"); p != "" {
				defer component.WriteHeapProfile(p, o.Log)
			}
			return cri.Run(ctx, o, listen)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Root, "root", cri.DefaultRoot, "runtime data: images, sandbox and container records, supervisor and network state")
	f.StringVar(&o.StateDir, "state-dir", cri.DefaultStateDir, "runtime state that does not outlive a reboot (network namespaces)")
	f.StringVar(&listen, "listen", cri.DefaultSocket, "unix socket to serve CRI v1 on")
	f.StringVar(&o.PodCIDR, "pod-cidr", "10.42.0.0/24", "the node's pod range (the kubelet's UpdateRuntimeConfig replaces it)")
	f.StringVar(&o.RegistryConfig, "registry-config", "", "registries.yaml (k3s's format): mirrors, credentials, TLS and plain-HTTP registries")
	f.StringVar(&o.CNIConfDir, "cni-conf-dir", "", "CNI network configurations: hand the pod network to a CNI plugin chain (with --cni-bin-dir)")
	f.StringVar(&o.CNIBinDir, "cni-bin-dir", "", "CNI plugin binaries (with --cni-conf-dir)")
	f.StringVar(&o.CgroupParent, "cgroup-parent", cri.DefaultCgroupParent, "cgroup (cgroupfs path) for pods whose config names none, such as crictl's")
	f.StringVar(&o.StreamAddress, "stream-address", "127.0.0.1:0", "TCP address of the streaming server (the URLs exec, attach and port-forward answer with)")
	f.StringVar(&o.OCIRuntime, "oci-runtime", "", "an OCI runtime binary (runc) to use instead of the built-in libcontainer")
	return cmd
}
