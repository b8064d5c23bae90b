package kubelet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/kubelet/volume"
)

// configError is a container that cannot be described to the runtime
// (upstream's CreateContainerConfigError).
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }

// containerInput is what a container's CRI config is made from.
type containerInput struct {
	Pod          *corev1.Pod
	Container    *corev1.Container
	RestartCount int32
	ImageRef     string
	PodIPs       []string
	Volumes      map[string]volume.Mounted // by volume name
	// TargetID: an ephemeral container's target, whose process
	// namespace it joins ("" = none).
	TargetID string
	// Userns is the sandbox's user namespace, which the container shares.
	Userns *runtimeapi.UserNamespace
}

// containerConfig is the CRI's description of a container.
func (k *Kubelet) containerConfig(ctx context.Context, in containerInput) (*runtimeapi.ContainerConfig, error) {
	pod, c := in.Pod, in.Container
	if msg := runAsNonRootError(pod, c); msg != "" {
		return nil, configError{fmt.Errorf("%s", msg)}
	}
	envs, invalid, err := makeEnv(ctx, envInput{Pod: pod, Container: c, PodIPs: in.PodIPs, HostIPs: k.hostIPs(),
		Allocatable: k.allocatable(), Services: k.allServices()}, k)
	if err != nil {
		return nil, configError{err}
	}
	if len(invalid) > 0 {
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "InvalidEnvironmentVariableNames",
			"Keys [%s] from the EnvFrom configMap %s/%s were skipped since they are considered invalid environment variable names.",
			strings.Join(invalid, ", "), pod.Namespace, envFromName(c))
	}
	lookup := func(name string) (string, bool) {
		for _, e := range envs {
			if e.Key == name {
				return string(e.Value), true
			}
		}
		return "", false
	}
	mounts, err := k.mounts(ctx, pod, c, in.Volumes, lookup)
	if err != nil {
		return nil, configError{err}
	}
	grace := int64(30)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata:   &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: uint32(in.RestartCount)},
		Image:      &runtimeapi.ImageSpec{Image: in.ImageRef, UserSpecifiedImage: c.Image},
		WorkingDir: c.WorkingDir,
		Envs:       envs,
		Mounts:     mounts,
		Labels: map[string]string{labelPodName: pod.Name, labelPodNamespace: pod.Namespace,
			labelPodUID: string(pod.UID), labelContainerName: c.Name},
		Annotations: map[string]string{
			annotationHash:              containerHash(c),
			annotationRestartCount:      strconv.Itoa(int(in.RestartCount)),
			annotationTerminationPath:   c.TerminationMessagePath,
			annotationTerminationPolicy: string(c.TerminationMessagePolicy),
			annotationGracePeriod:       strconv.FormatInt(grace, 10),
		},
		LogPath:   filepath.Join(c.Name, strconv.Itoa(int(in.RestartCount))+".log"),
		Stdin:     c.Stdin,
		StdinOnce: c.StdinOnce,
		Tty:       c.TTY,
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources:       containerResources(pod, c, k.memoryCapacity()),
			SecurityContext: securityContext(pod, c),
		},
	}
	cfg.Linux.SecurityContext.NamespaceOptions.UsernsOptions = in.Userns
	if ns := cfg.Linux.SecurityContext.NamespaceOptions; in.TargetID != "" && ns.Pid == runtimeapi.NamespaceMode_CONTAINER {
		// A pod that shares one process namespace (or the host's) already
		// shows the target's processes, as upstream.
		ns.Pid, ns.TargetId = runtimeapi.NamespaceMode_TARGET, in.TargetID
	}
	for _, s := range c.Command {
		cfg.Command = append(cfg.Command, expand(s, lookup))
	}
	for _, s := range c.Args {
		cfg.Args = append(cfg.Args, expand(s, lookup))
	}
	return cfg, nil
}

func envFromName(c *corev1.Container) string {
	for _, f := range c.EnvFrom {
		if f.ConfigMapRef != nil {
			return f.ConfigMapRef.Name
		}
	}
	return ""
}

// mounts are the container's volume mounts, its /etc/hosts and its
// termination message file. A mount is read-only when the container
// asks or the volume must be (API content, a claim given readOnly).
func (k *Kubelet) mounts(ctx context.Context, pod *corev1.Pod, c *corev1.Container, vols map[string]volume.Mounted, lookup func(string) (string, bool)) ([]*runtimeapi.Mount, error) {
	var out []*runtimeapi.Mount
	hostsMounted := false
	for i := range c.VolumeMounts {
		vm := &c.VolumeMounts[i]
		vol, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		if vm.MountPath == "/etc/hosts" {
			hostsMounted = true
		}
		sub, err := subPathOf(vm, lookup)
		if err != nil {
			return nil, err
		}
		if sub != "" {
			if err := checkSubPath(sub); err != nil {
				return nil, err
			}
		}
		var m *runtimeapi.Mount
		if vol.Image != nil {
			m, err = k.imageMount(ctx, pod, vm, vol.Image, sub)
		} else {
			m, err = hostMount(vm, vol, sub, c.Name)
		}
		if err != nil {
			return nil, err
		}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case corev1.MountPropagationHostToContainer:
				m.Propagation = runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER
			case corev1.MountPropagationBidirectional:
				m.Propagation = runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL
			}
		}
		out = append(out, m)
	}
	dir := filepath.Join(k.volumes.PodDir(pod.UID))
	if !pod.Spec.HostNetwork && !hostsMounted {
		out = append(out, &runtimeapi.Mount{ContainerPath: "/etc/hosts", HostPath: filepath.Join(dir, "etc-hosts")})
	}
	if c.TerminationMessagePath != "" {
		p, err := terminationFile(dir, c.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, &runtimeapi.Mount{ContainerPath: c.TerminationMessagePath, HostPath: p})
	}
	return out, nil
}

// hostMount is the CRI mount of a volume that is on the host, at sub
// ("" = the whole volume) inside it.
func hostMount(vm *corev1.VolumeMount, vol volume.Mounted, sub, ctr string) (*runtimeapi.Mount, error) {
	hp := vol.Path
	if sub != "" {
		var err error
		if hp, err = subPathHost(vol.Path, sub, vm.Name, ctr); err != nil {
			return nil, err
		}
	}
	return &runtimeapi.Mount{ContainerPath: vm.MountPath, HostPath: hp, Readonly: vm.ReadOnly || vol.ReadOnly}, nil
}

// terminationFile is a new empty file the container may write its
// termination message into.
func terminationFile(podDir, name string) (string, error) {
	d := filepath.Join(podDir, "containers", name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("make %s: %w", d, err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	p := filepath.Join(d, hex.EncodeToString(b[:]))
	if err := os.WriteFile(p, nil, 0o666); err != nil {
		return "", fmt.Errorf("make termination message file: %w", err)
	}
	return p, os.Chmod(p, 0o666)
}

// writeHosts writes the pod's /etc/hosts, as upstream's kubelet does.
func (k *Kubelet) writeHosts(pod *corev1.Pod, podIPs []string) error {
	dir := k.volumes.PodDir(pod.UID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	name := hostname(pod)
	if pod.Spec.Subdomain != "" {
		name = fmt.Sprintf("%s.%s.%s.svc.%s\t%s", name, pod.Spec.Subdomain, pod.Namespace, k.opts.ClusterDomain, name)
	}
	for _, ip := range podIPs {
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	for _, h := range pod.Spec.HostAliases {
		fmt.Fprintf(&b, "\n# Entries added by HostAliases.\n%s\t%s\n", h.IP, strings.Join(h.Hostnames, "\t"))
	}
	return os.WriteFile(filepath.Join(dir, "etc-hosts"), []byte(b.String()), 0o644)
}
