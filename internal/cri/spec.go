package cri

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// specInput is everything the OCI spec of a container is made from. The
// parts that need I/O (the user resolved from the rootfs, a Localhost
// seccomp profile, the host devices) are resolved before, so that
// buildSpec is a pure function.
type specInput struct {
	ID      string
	Config  *runtimeapi.ContainerConfig
	Sandbox *sandbox
	Image   image.ImageConfig
	Rootfs  string // mounted root filesystem
	User    specs.User
	// TargetPIDNS is the pid namespace file of the target container when
	// the pid namespace mode is TARGET.
	TargetPIDNS string
	// LocalhostSeccomp is the profile a Localhost seccomp reference names,
	// already read and decoded.
	LocalhostSeccomp *specs.LinuxSeccomp
	Devices          []specs.LinuxDevice
	// SwapAvailable: the kernel accounts swap (memory.memsw on cgroup v1),
	// so that swap can be limited to the memory limit.
	SwapAvailable bool
	// MinOOMScoreAdj is the lowest oom_score_adj this machine allows the
	// runtime to set (lowering below its own is refused here).
	MinOOMScoreAdj int
	// HostCapabilities are those the runtime itself holds (its bounding
	// set): all a privileged container can get. nil: every one known.
	HostCapabilities []string
}

// invalidArgumentError says which field of the request is wrong; the verbs
// turn it into codes.InvalidArgument.
type invalidArgumentError struct {
	Field, Msg string
}

func (e *invalidArgumentError) Error() string { return e.Field + ": " + e.Msg }

func invalidArg(field, format string, args ...any) error {
	return &invalidArgumentError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// buildSpec translates a CRI container config, its sandbox and its image
// into an OCI runtime spec, the way containerd's CRI plugin does.
func buildSpec(in specInput) (*specs.Spec, error) {
	cfg := in.Config
	sc := cfg.GetLinux().GetSecurityContext()
	if sc.GetPrivileged() && !in.Sandbox.privileged() {
		return nil, invalidArg("config.linux.security_context.privileged", "a privileged container needs a privileged sandbox")
	}
	args, err := processArgs(cfg, in.Image)
	if err != nil {
		return nil, err
	}
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: in.Rootfs, Readonly: sc.GetReadonlyRootfs()},
		Process: &specs.Process{
			Terminal:        cfg.GetTty(),
			User:            in.User,
			Args:            args,
			Env:             processEnv(cfg, in.Image, in.Sandbox.hostname()),
			Cwd:             workingDir(cfg, in.Image),
			NoNewPrivileges: sc.GetNoNewPrivs(),
		},
		Annotations: annotations(in),
		Linux: &specs.Linux{
			Sysctl:      in.Sandbox.Config.GetLinux().GetSysctls(),
			CgroupsPath: filepath.Join(in.Sandbox.CgroupParent, in.ID),
			Resources:   &specs.LinuxResources{},
		},
	}
	if !filepath.IsAbs(s.Process.Cwd) {
		return nil, invalidArg("config.working_dir", "%q is not an absolute path", s.Process.Cwd)
	}
	s.Process.User.AdditionalGids = supplementaryGroups(in.User, sc.GetSupplementalGroups())
	s.Process.Capabilities = capabilities(sc, in.HostCapabilities)
	ns, err := namespaces(in)
	if err != nil {
		return nil, err
	}
	s.Linux.Namespaces = ns
	for _, n := range ns {
		if n.Type == specs.UTSNamespace {
			s.Hostname = in.Sandbox.hostname()
		}
	}
	if s.Mounts, err = mounts(in); err != nil {
		return nil, err
	}
	s.Linux.RootfsPropagation = rootfsPropagation(in.Config.GetMounts())
	if err := resources(s, in); err != nil {
		return nil, err
	}
	if err := devices(s, in); err != nil {
		return nil, err
	}
	if !sc.GetPrivileged() {
		s.Linux.MaskedPaths = orDefault(sc.GetMaskedPaths(), defaultMaskedPaths)
		s.Linux.ReadonlyPaths = orDefault(sc.GetReadonlyPaths(), defaultReadonlyPaths)
	}
	if s.Linux.Seccomp, err = seccompProfile(sc, in.LocalhostSeccomp, in.HostCapabilities); err != nil {
		return nil, err
	}
	// AppArmor and SELinux are not supported on these nodes: profiles are
	// ignored rather than refused, as containerd does where they are off.
	return s, nil
}

// processArgs follows containerd (and Docker before it): the CRI command
// replaces the image's entrypoint and drops its cmd; CRI args alone replace
// only the cmd.
func processArgs(cfg *runtimeapi.ContainerConfig, img image.ImageConfig) ([]string, error) {
	command, args := cfg.GetCommand(), cfg.GetArgs()
	if len(command) == 0 {
		if len(args) == 0 {
			args = img.Cmd
		}
		if !(len(img.Entrypoint) == 1 && img.Entrypoint[0] == "") {
			command = img.Entrypoint
		}
	}
	out := append(append([]string{}, command...), args...)
	if len(out) == 0 {
		return nil, invalidArg("config.command", "no command specified, and the image has neither entrypoint nor cmd")
	}
	return out, nil
}

const defaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// processEnv is HOSTNAME, then the image's env, then the CRI env, a later
// value replacing an earlier one of the same name in place; PATH gets a
// default when nobody set it.
func processEnv(cfg *runtimeapi.ContainerConfig, img image.ImageConfig, hostname string) []string {
	var env []string
	index := map[string]int{}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			env[i] = kv
			return
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	set("HOSTNAME=" + hostname)
	for _, kv := range img.Env {
		set(kv)
	}
	for _, kv := range cfg.GetEnvs() {
		set(kv.GetKey() + "=" + string(kv.GetValue()))
	}
	if _, ok := index["PATH"]; !ok {
		set(defaultPathEnv)
	}
	return env
}

func workingDir(cfg *runtimeapi.ContainerConfig, img image.ImageConfig) string {
	if d := cfg.GetWorkingDir(); d != "" {
		return d
	}
	if img.WorkingDir != "" {
		return img.WorkingDir
	}
	return "/"
}

// supplementaryGroups are the groups resolved from the image's /etc/group
// plus the CRI's supplemental groups, without duplicates.
func supplementaryGroups(u specs.User, extra []int64) []uint32 {
	var out []uint32
	seen := map[uint32]bool{u.GID: true}
	for _, g := range u.AdditionalGids {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for _, g := range extra {
		if !seen[uint32(g)] {
			seen[uint32(g)] = true
			out = append(out, uint32(g))
		}
	}
	return out
}

func annotations(in specInput) map[string]string {
	a := map[string]string{}
	for k, v := range in.Config.GetAnnotations() {
		a[k] = v
	}
	md := in.Sandbox.Config.GetMetadata()
	a["io.kubernetes.cri.container-type"] = "container"
	a["io.kubernetes.cri.container-name"] = in.Config.GetMetadata().GetName()
	a["io.kubernetes.cri.sandbox-id"] = in.Sandbox.ID
	a["io.kubernetes.cri.sandbox-name"] = md.GetName()
	a["io.kubernetes.cri.sandbox-namespace"] = md.GetNamespace()
	a["io.kubernetes.cri.sandbox-uid"] = md.GetUid()
	a["io.kubernetes.cri.image-name"] = in.Config.GetImage().GetImage()
	return a
}

func orDefault(given, def []string) []string {
	if given != nil {
		return given
	}
	return append([]string{}, def...)
}

// The paths containerd masks and makes read-only in every unprivileged
// container.
var (
	defaultMaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	defaultReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// rootfsPropagation is what the container's root mount must be for its
// volumes' propagation to work, as containerd sets it: shared when a mount
// is bidirectional (mounts made inside reach the host through it), slave
// when one only receives the host's, else runc's default.
func rootfsPropagation(ms []*runtimeapi.Mount) string {
	out := ""
	for _, m := range ms {
		switch m.GetPropagation() {
		case runtimeapi.MountPropagation_PROPAGATION_BIDIRECTIONAL:
			return "rshared"
		case runtimeapi.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
			out = "rslave"
		}
	}
	return out
}
