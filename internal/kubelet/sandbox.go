package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podLogDir is /var/log/pods/<namespace>_<name>_<uid>, as upstream.
func (k *Kubelet) podLogDir(ns, name, uid string) string {
	return filepath.Join(k.opts.PodLogDir, ns+"_"+name+"_"+uid)
}

// sandboxConfig is the CRI's description of the pod's sandbox.
func (k *Kubelet) sandboxConfig(pod *corev1.Pod, attempt uint32) (*runtimeapi.PodSandboxConfig, error) {
	userns, err := k.userns.options(pod)
	if err != nil {
		return nil, err
	}
	lbls := map[string]string{}
	for k, v := range pod.Labels {
		lbls[k] = v
	}
	lbls[labelPodName], lbls[labelPodNamespace], lbls[labelPodUID] = pod.Name, pod.Namespace, string(pod.UID)
	ann := map[string]string{}
	for k, v := range pod.Annotations {
		ann[k] = v
	}
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: pod.Name, Namespace: pod.Namespace, Uid: string(pod.UID), Attempt: attempt},
		Hostname:     hostname(pod),
		LogDirectory: k.podLogDir(pod.Namespace, pod.Name, string(pod.UID)),
		DnsConfig:    k.dnsConfig(pod),
		PortMappings: portMappings(pod),
		Labels:       lbls,
		Annotations:  ann,
		Linux: &runtimeapi.LinuxPodSandboxConfig{
			CgroupParent: cgroupParent(k.opts.CgroupRoot, pod),
			SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
				NamespaceOptions: namespaceOptions(pod, userns),
				Privileged:       anyPrivileged(pod),
				Seccomp:          seccomp(nil, nil),
			},
			Sysctls:   map[string]string{},
			Resources: sandboxResources(pod),
			Overhead:  overheadResources(pod),
		},
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		sc := cfg.Linux.SecurityContext
		if psc.RunAsUser != nil {
			sc.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
		}
		sc.SupplementalGroups = psc.SupplementalGroups
		for _, s := range psc.Sysctls {
			cfg.Linux.Sysctls[s.Name] = s.Value
		}
	}
	return cfg, nil
}

// hostname is the pod's hostname: spec.hostname or its name, cut to 63.
func hostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

func anyPrivileged(pod *corev1.Pod) bool {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
				return true
			}
		}
	}
	return false
}

// portMappings are the host ports the pod asks for.
func portMappings(pod *corev1.Pod) []*runtimeapi.PortMapping {
	var out []*runtimeapi.PortMapping
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := runtimeapi.Protocol_TCP
			switch p.Protocol {
			case corev1.ProtocolUDP:
				proto = runtimeapi.Protocol_UDP
			case corev1.ProtocolSCTP:
				proto = runtimeapi.Protocol_SCTP
			}
			out = append(out, &runtimeapi.PortMapping{Protocol: proto, ContainerPort: p.ContainerPort, HostPort: p.HostPort, HostIp: p.HostIP})
		}
	}
	return out
}

// dnsConfig is the pod's resolv.conf by its dnsPolicy, as upstream
// (dns.go); what had to be cut is told in the pod's events.
func (k *Kubelet) dnsConfig(pod *corev1.Pod) *runtimeapi.DNSConfig {
	path := k.resolvConfPath()
	host, err := readHostDNS(path)
	if err != nil {
		k.log.Warn("read the host's resolv.conf", "path", path, "err", err)
	}
	cfg, warnings := podDNS(pod, dnsInput{
		Host: host, NoHostFile: path == "",
		ClusterDNS: k.opts.ClusterDNS, ClusterDomain: k.opts.ClusterDomain, NodeIPv6Only: ipv6Only(k.opts.NodeIPs),
	})
	for _, w := range warnings {
		reason, msg, _ := strings.Cut(w, ": ")
		k.recorder.Event(pod, corev1.EventTypeWarning, reason, msg)
	}
	return cfg
}

// runSandbox creates the pod's sandbox and returns its ID.
func (k *Kubelet) runSandbox(ctx context.Context, pod *corev1.Pod, attempt uint32) (string, error) {
	handler, err := k.runtimeHandler(pod)
	if err != nil {
		return "", err
	}
	if !hostUsers(pod) {
		if err := k.supportsUserns(ctx, handler); err != nil {
			return "", err
		}
	}
	if err := k.ensurePodCgroup(pod); err != nil {
		return "", err
	}
	cfg, err := k.sandboxConfig(pod, attempt)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(cfg.LogDirectory, 0o755); err != nil {
		return "", fmt.Errorf("make pod log dir: %w", err)
	}
	k.opts.Metrics.PodStarted()
	resp, err := k.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
	if err != nil {
		return "", err
	}
	return resp.PodSandboxId, nil
}
