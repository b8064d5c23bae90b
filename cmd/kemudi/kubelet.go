package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/kubelet"
)

func newKubeletCommand() *cobra.Command {
	o := kubelet.DefaultOptions()
	var kubeconfig string
	var nodeIPs, taints []string
	var kubeReserved, systemReserved map[string]string
	cmd := &cobra.Command{
		Use:   "kubelet",
		Short: "Run the kubelet alone: the node agent, against any API server and any CRI runtime",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			for _, s := range nodeIPs {
				ip := net.ParseIP(s)
				if ip == nil {
					return fmt.Errorf("--node-ip: %q is not an IP address", s)
				}
				o.NodeIPs = append(o.NodeIPs, ip)
			}
			if o.Taints, err = parseTaints(taints); err != nil {
				return err
			}
			if o.KubeReserved, err = parseResources("--kube-reserved", kubeReserved); err != nil {
				return err
			}
			if o.SystemReserved, err = parseResources("--system-reserved", systemReserved); err != nil {
				return err
			}
			return runAgainst(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				return kubelet.Run(ctx, cfg, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server")
	f.StringVar(&o.NodeName, "node-name", "", "name of the node (default: the hostname)")
	f.StringVar(&o.RuntimeEndpoint, "runtime-endpoint", o.RuntimeEndpoint, "CRI runtime socket (kemudi's, containerd's or CRI-O's)")
	f.StringVar(&o.RootDir, "root-dir", o.RootDir, "kubelet state: pod volumes and files")
	f.StringVar(&o.PodLogDir, "pod-log-dir", o.PodLogDir, "containers' logs, under <namespace>_<pod>_<uid>/<container>/N.log")
	f.StringVar(&o.CgroupRoot, "cgroup-root", "", "cgroup under which the kubepods hierarchy lives (several nodes on one machine: one each)")
	f.StringSliceVar(&nodeIPs, "node-ip", nil, "the node's address(es) (default: the first interface's)")
	f.StringToStringVar(&o.NodeLabels, "node-labels", nil, "labels to add to the node (key=value,...)")
	f.StringSliceVar(&taints, "register-with-taints", nil, "taints of the node when it registers (key=value:Effect,...)")
	f.StringToStringVar(&kubeReserved, "kube-reserved", nil, "resources kept for Kubernetes' daemons (cpu=100m,memory=100Mi,ephemeral-storage=1Gi)")
	f.StringToStringVar(&systemReserved, "system-reserved", nil, "resources kept for the system")
	f.Int64Var(&o.MaxPods, "max-pods", o.MaxPods, "pods the node can run")
	f.StringSliceVar(&o.ClusterDNS, "cluster-dns", o.ClusterDNS, "nameservers of ClusterFirst pods")
	f.StringVar(&o.ClusterDomain, "cluster-domain", o.ClusterDomain, "the cluster's DNS domain")
	f.DurationVar(&o.StatusInterval, "node-status-update-frequency", o.StatusInterval, "how often the node's status is computed")
	f.DurationVar(&o.SyncFrequency, "sync-frequency", o.SyncFrequency, "how often each pod is synced without a change")
	return cmd
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
