package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/kubelet"
)

func newKubeletCommand() *cobra.Command {
	var kf kubeletFlags
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "kubelet",
		Short: "Run the kubelet alone: the node agent, against any API server and any CRI runtime",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := kf.options()
			if err != nil {
				return err
			}
			return runAgainst(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				return cluster.RunKubelet(ctx, cfg, o)
			})
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server")
	kf.register(cmd.Flags(), kubelet.DefaultOptions())
	return cmd
}

// kubeletFlags are the kubelet's flags, shared by `kemudi kubelet` and
// `kemudi agent`.
type kubeletFlags struct {
	o                            kubelet.Options
	nodeIPs, taints              []string
	kubeReserved, systemReserved map[string]string
	housekeeping                 housekeepingFlags
}

func (kf *kubeletFlags) register(f *pflag.FlagSet, defaults kubelet.Options) {
	kf.o = defaults
	o := &kf.o
	f.StringVar(&o.NodeName, "node-name", "", "name of the node (default: the hostname)")
	f.StringVar(&o.RuntimeEndpoint, "runtime-endpoint", o.RuntimeEndpoint, "CRI runtime socket (kemudi's, containerd's or CRI-O's)")
	f.StringVar(&o.RootDir, "root-dir", o.RootDir, "kubelet state: pod volumes and files")
	f.StringVar(&o.PodLogDir, "pod-log-dir", o.PodLogDir, "containers' logs, under <namespace>_<pod>_<uid>/<container>/N.log")
	f.StringVar(&o.CgroupRoot, "cgroup-root", "", "cgroup under which the kubepods hierarchy lives (several nodes on one machine: one each)")
	f.StringSliceVar(&kf.nodeIPs, "node-ip", nil, "the node's address(es) (default: the first interface's)")
	f.StringToStringVar(&o.NodeLabels, "node-labels", nil, "labels to add to the node (key=value,...)")
	f.StringSliceVar(&kf.taints, "register-with-taints", nil, "taints of the node when it registers (key=value:Effect,...)")
	f.StringToStringVar(&kf.kubeReserved, "kube-reserved", nil, "resources kept for Kubernetes' daemons (cpu=100m,memory=100Mi,ephemeral-storage=1Gi)")
	f.StringToStringVar(&kf.systemReserved, "system-reserved", nil, "resources kept for the system")
	f.Int64Var(&o.MaxPods, "max-pods", o.MaxPods, "pods the node can run")
	f.Int64Var(&o.UsernsIDsPerPod, "userns-ids-per-pod", o.UsernsIDsPerPod, "user and group IDs each pod with spec.hostUsers false gets, a multiple of 65536 (upstream's userNamespaces.idsPerPod); the blocks come from the \"kubelet\" user's one range in /etc/subuid and /etc/subgid if that user exists, else from every ID from this value up to 2^32, and must be enough for --max-pods")
	f.StringSliceVar(&o.ClusterDNS, "cluster-dns", o.ClusterDNS, "nameservers of ClusterFirst pods")
	f.StringVar(&o.ClusterDomain, "cluster-domain", o.ClusterDomain, "the cluster's DNS domain")
	f.StringVar(&o.ResolvConf, "resolv-conf", o.ResolvConf, "the host's resolver file: dnsPolicy Default pods get it, ClusterFirst ones its search domains (\"\" none; the default gives way to systemd-resolved's list when it names only the stub)")
	f.DurationVar(&o.StatusInterval, "node-status-update-frequency", o.StatusInterval, "how often the node's status is computed")
	f.DurationVar(&o.StatusReportInterval, "node-status-report-frequency", o.StatusReportInterval, "how often the node's status is written when nothing in it changed (the node's Lease is its heartbeat between)")
	f.Int32Var(&o.Port, "kubelet-port", o.Port, "port of the kubelet's HTTPS API (logs, exec, attach, port-forward, stats); 0 serves none")
	f.DurationVar(&o.SyncFrequency, "sync-frequency", o.SyncFrequency, "how often each pod is synced without a change")
	kf.housekeeping.register(f, o)
}

// options checks the flags that need parsing and returns the options.
func (kf *kubeletFlags) options() (kubelet.Options, error) {
	o := kf.o
	o.NodeIPs = nil
	for _, s := range kf.nodeIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return o, fmt.Errorf("--node-ip: %q is not an IP address", s)
		}
		o.NodeIPs = append(o.NodeIPs, ip)
	}
	if err := kubelet.ValidateUsernsIDsPerPod(o.UsernsIDsPerPod); err != nil {
		return o, fmt.Errorf("--userns-ids-per-pod %d: %w", o.UsernsIDsPerPod, err)
	}
	var err error
	if o.Taints, err = parseTaints(kf.taints); err != nil {
		return o, err
	}
	if o.KubeReserved, err = parseResources("--kube-reserved", kf.kubeReserved); err != nil {
		return o, err
	}
	if o.SystemReserved, err = parseResources("--system-reserved", kf.systemReserved); err != nil {
		return o, err
	}
	if err := kf.housekeeping.apply(&o); err != nil {
		return o, err
	}
	return o, nil
}

// parseTaints reads upstream's key=value:Effect form.
func parseTaints(specs []string) ([]corev1.Taint, error) {
	var out []corev1.Taint
	for _, s := range specs {
		kv, effect, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("--register-with-taints: %q: want key=value:Effect", s)
		}
		switch corev1.TaintEffect(effect) {
		case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("--register-with-taints: %q: effect must be NoSchedule, PreferNoSchedule or NoExecute", s)
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	return out, nil
}

func parseResources(flag string, m map[string]string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for k, v := range m {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s=%s: %w", flag, k, v, err)
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}
