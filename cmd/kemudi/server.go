package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/kemudi/kemudi/internal/component"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/controller"
)

// defaultGCPercent lets the heap grow 150% over what is live between
// collections, not Go's 100%: the server's live heap is mostly long-lived
// caches (the watch cache, the components' informers) that every
// collection marks again, and under a burst of writes marking took a
// quarter of its CPU. At 10,000 pods and 5,000 nodes this costs about
// 15% more memory and schedules about 15% more pods a second
// (bench/schedbench).
const defaultGCPercent = 150

// setGCPercent applies --gc-percent unless GOGC is set.
func setGCPercent(percent int) {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(percent)
	}
}

func addServerFlags(fs *pflag.FlagSet, o *cluster.ServerOptions, gcPercent *int) {
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "directory for etcd's data, certificates and admin.kubeconfig")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "address the API listens on")
	fs.IntVar(&o.Port, "https-listen-port", o.Port, "port the API listens on (TLS)")
	fs.StringVar(&o.AdvertiseAddress, "advertise-address", o.AdvertiseAddress, "address clients reach the API at (written into admin.kubeconfig)")
	fs.StringSliceVar(&o.SANs, "tls-san", nil, "extra host names or IPs for the API's serving certificate")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", nil, "external etcd endpoints (default: embedded etcd in <data-dir>/etcd)")
	fs.StringVar(&o.EtcdCAFile, "etcd-cafile", "", "CA bundle that signed the external etcd's certificates")
	fs.StringVar(&o.EtcdCertFile, "etcd-certfile", "", "client certificate for the external etcd")
	fs.StringVar(&o.EtcdKeyFile, "etcd-keyfile", "", "client key for the external etcd")
	fs.IntVar(gcPercent, "gc-percent", defaultGCPercent,
		"the Go collector's GOGC for the server (the GOGC environment variable wins): higher trades memory for CPU")
	fs.StringSliceVar(&o.AuthorizationModes, "authorization-mode", o.AuthorizationModes,
		"authorizers, in order, after the system:masters bypass: Node, RBAC, AlwaysAllow")
	fs.BoolVar(&o.AnonymousAuth, "anonymous-auth", o.AnonymousAuth,
		"serve requests without credentials as user system:anonymous in group system:unauthenticated, authorized like any other (false: 401); off with AlwaysAllow")
	fs.StringVar((*string)(&o.ManagedFields), "managed-fields", string(apiserver.ManagedFieldsAfterApply),
		`when writes record metadata.managedFields: "after-apply" (from an object's first server-side apply on) or "always" (every create and update, as upstream since 1.18)`)
	fs.StringSliceVar(&o.EnableAdmissionPlugins, "enable-admission-plugins", nil,
		"admission plugins to run besides the default ones ("+strings.Join(cluster.DefaultAdmissionPlugins(), ", ")+
			"); of upstream's, kemudi has "+strings.Join(cluster.ImplementedAdmissionPlugins(), ", ")+"; they run in upstream's order whatever the order given")
	fs.StringSliceVar(&o.DisableAdmissionPlugins, "disable-admission-plugins", nil,
		"admission plugins not to run, though they are on by default")
	fs.StringVar(&o.AdmissionControlConfigFile, "admission-control-config-file", "",
		"an AdmissionConfiguration (apiserver.config.k8s.io/v1) with the PodSecurity plugin's defaults and exemptions")
	fs.StringVar(&o.EncryptionProviderConfig, "encryption-provider-config", "",
		"EncryptionConfiguration (apiserver.config.k8s.io/v1) for data at rest (default: secrets sealed with a key generated in <data-dir>/tls/encryption-config.yaml)")
	fs.BoolVar(&o.EncryptionProviderConfigAutomaticReload, "encryption-provider-config-automatic-reload", false,
		"follow --encryption-provider-config as its file changes, without a restart (the generated configuration is always followed)")
	fs.DurationVar(&o.RequestTimeout, "request-timeout", o.RequestTimeout,
		"how long a request that is not long-running (not a watch, proxy, exec, attach, port-forward or log) may take before it gets 504 Timeout; a request's ?timeout= may only shorten it (0: 60s)")
	addAuditFlags(fs, &o.Audit)
}

func newServerCommand() *cobra.Command {
	o := cluster.DefaultServerOptions()
	var disable []string
	var gcPercent int
	var disableAgent bool
	var af agentFlags
	var cp cluster.ControlPlaneOptions
	ro := cluster.DefaultRegistryOptions("")
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (etcd, the API server, the scheduler and the controllers) and a node for this machine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			off := map[string]bool{}
			for _, d := range disable {
				if d != "registry" && d != "local-storage" && !isControlPlaneComponent(d) {
					return fmt.Errorf("--disable %s: not a component (scheduler, controller-manager, cloud-controller-manager, registry, local-storage)", d)
				}
				off[d] = true
			}
			o.LocalStorage = !off["local-storage"]
			if !off["cloud-controller-manager"] {
				if err := cp.ValidateCloud(); err != nil {
					return err
				}
			}
			var extra []cluster.Component
			ready := &readySummary{DataDir: o.DataDir, Kubeconfig: filepath.Join(o.DataDir, "admin.kubeconfig")}
			var node *cluster.AgentOptions
			ro.DataDir, ro.BindAddress, ro.AdvertiseAddress, ro.SANs = o.DataDir, o.BindAddress, o.AdvertiseAddress, o.SANs
			if !off["registry"] {
				logrusToSlog(slog.Default())
				extra = append(extra, cluster.RegistryComponent(ro))
				ready.Registry = net.JoinHostPort("127.0.0.1", strconv.Itoa(ro.Port))
			}
			if !disableAgent {
				ao, err := af.options(cmd.Flags(), o.DataDir)
				if err != nil {
					return err
				}
				ao.KubeletCADir = filepath.Join(o.DataDir, "tls")
				if ao.Kubelet.NodeName, err = cluster.DefaultNodeName(ao.Kubelet.NodeName); err != nil {
					return err
				}
				node, ready.Node = &ao, ao.Kubelet.NodeName
			}
			if node != nil {
				if err := cluster.CheckNodePrivileges(os.Geteuid()); err != nil {
					return fmt.Errorf("%w, or with --disable-agent for the control plane alone", err)
				}
			}
			// Every port is tried before anything starts or is written.
			listeners := cluster.ServerListeners(o, node)
			if !off["registry"] {
				listeners = append(listeners, cluster.Listener{Component: "registry", Network: "tcp", Address: ro.ListenAddress()})
			}
			if err := cluster.CheckListeners(listeners); err != nil {
				return err
			}
			if node != nil {
				if !off["registry"] {
					// The node pulls from the registry with its client
					// certificate, no password.
					if err := cluster.ServerNodeRegistries(node, ro); err != nil {
						return err
					}
				}
				agent, err := cluster.AgentComponent(*node)
				if err != nil {
					return err
				}
				extra = append(extra, agent)
			}
			setGCPercent(gcPercent)
			return runServer(cmd.Context(), o, cp, off, ready, extra...)
		},
	}
	addServerFlags(cmd.Flags(), &o, &gcPercent)
	cmd.Flags().StringSliceVar(&disable, "disable", nil, "components not to run: scheduler, controller-manager, cloud-controller-manager, registry, local-storage (the default StorageClass local-path)")
	addRegistryFlags(cmd.Flags(), &ro)
	cmd.Flags().StringVar(&cp.LBAddressPool, "lb-address-pool", "",
		"addresses LoadBalancer services get from the local cloud provider, e.g. 10.99.0.200-10.99.0.250 (ranges, CIDRs or addresses, IPv4 and IPv6, comma-separated); empty: the nodes' addresses")
	cmd.Flags().BoolVar(&disableAgent, "disable-agent", false, "run no node on this machine (no runtime, no kubelet): a control plane only")
	cmd.Flags().StringVar(&cp.ControllerManagerMetricsAddress, "controller-manager-metrics-address", "",
		"serve the controller manager's /metrics (its work queues) on this address over plain HTTP, as kemudi controller-manager --metrics-address (e.g. 127.0.0.1:10257; empty: off)")
	cmd.Flags().DurationVar(&cp.ClusterSigningDuration, "cluster-signing-duration", 365*24*time.Hour,
		"the longest certificate the controller manager's signer issues (nodes' client and serving certificates; they are renewed at 70–84% of it), as kube-controller-manager's flag")
	cp.TerminatedPodGCThreshold = new(int)
	cmd.Flags().IntVar(cp.TerminatedPodGCThreshold, "terminated-pod-gc-threshold", controller.DefaultOptions().TerminatedPodGCThreshold,
		"terminated pods that may exist before the controller manager's pod garbage collector deletes the oldest (<= 0: never), as kube-controller-manager's flag")
	af.register(cmd.Flags())
	return cmd
}

func newAPIServerCommand() *cobra.Command {
	o := cluster.DefaultServerOptions()
	var gcPercent int
	cmd := &cobra.Command{
		Use:   "apiserver",
		Short: "Run the API server alone (with embedded or external etcd)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			setGCPercent(gcPercent)
			all := map[string]bool{}
			for _, c := range cluster.ControlPlane() {
				all[c.Name] = true
			}
			return runServer(cmd.Context(), o, cluster.ControlPlaneOptions{}, all, nil)
		},
	}
	addServerFlags(cmd.Flags(), &o, &gcPercent)
	return cmd
}

func isControlPlaneComponent(name string) bool {
	for _, c := range cluster.ControlPlane() {
		if c.Name == name {
			return true
		}
	}
	return false
}

// runServer runs etcd, the API server, the control-plane components
// not disabled and the extra ones (the node's agent). A disabled component gets its kubeconfig all the same,
// for running it as a process of its own (`kemudi scheduler
// --kubeconfig <data-dir>/scheduler.kubeconfig`). ready, if set, is
// written to stderr once the cluster can be used.
func runServer(parent context.Context, o cluster.ServerOptions, cp cluster.ControlPlaneOptions, disabled map[string]bool, ready *readySummary, extra ...cluster.Component) error {
	started := time.Now()
	ctx, stop := component.SignalContext(parent)
	defer stop()
	o.Log = slog.Default()
	o.ReleaseStartupPages = true
	s, err := cluster.StartServer(ctx, o)
	if err != nil {
		return err
	}
	var comps []cluster.Component
	cp.ClusterSigningCertFile, cp.ClusterSigningKeyFile = s.SigningFiles()
	for _, c := range cp.Components() {
		if !disabled[c.Name] {
			comps = append(comps, c)
		} else if _, err := s.ComponentConfig(c.Name, c.User, c.Groups); err != nil {
			s.Stop()
			return fmt.Errorf("%s kubeconfig: %w", c.Name, err)
		}
	}
	comps = append(comps, extra...)
	wait, err := s.RunComponents(ctx, comps, o.Log)
	if err != nil {
		s.Stop()
		return err
	}
	if ready != nil {
		go announceReady(ctx, os.Stderr, *ready, started)
	}
	// wait returns when ctx ends, or early when a component keeps
	// failing: then the server stops too, with that reason. (With every
	// component disabled it returns at once.)
	compErr := wait()
	if compErr == nil {
		<-ctx.Done()
	}
	slog.Info("shutting down")
	if err := s.Stop(); err != nil {
		return err
	}
	return compErr
}
