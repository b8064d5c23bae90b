package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// CreateContainer prepares a container's writable layer on its image,
// mounts it, builds its OCI spec and has the supervisor create it (its
// process waits for StartContainer). A failed step undoes the ones before.
func (r *Runtime) CreateContainer(ctx context.Context, req *runtimeapi.CreateContainerRequest) (*runtimeapi.CreateContainerResponse, error) {
	cfg := req.GetConfig()
	sb, err := r.sandboxes.get(req.GetPodSandboxId())
	if err != nil {
		return nil, grpcError(fmt.Errorf("sandbox %s: %w", req.GetPodSandboxId(), err))
	}
	if err := r.validateContainerConfig(cfg, sb); err != nil {
		return nil, grpcError(err)
	}
	img, err := r.images.Get(cfg.GetImage().GetImage())
	if err != nil {
		return nil, grpcError(fmt.Errorf("image %q: %w", cfg.GetImage().GetImage(), err))
	}
	c := container{
		ID:         newID(),
		SandboxID:  sb.ID,
		Config:     cfg,
		ImageID:    img.ID,
		ImageName:  imageDisplayName(img, cfg.GetImage().GetImage()),
		StopSignal: img.Config.StopSignal,
		LogPath:    containerLogPath(sb, cfg),
		State:      runtimeapi.ContainerState_CONTAINER_CREATED,
		CreatedAt:  now(),
	}
	dir := r.containers.recordDir(c.ID)
	c.Rootfs = containerRootfs(dir)
	unlock := r.locks.lock(c.ID)
	defer unlock()

	var undo []func()
	fail := func(err error) (*runtimeapi.CreateContainerResponse, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, grpcError(fmt.Errorf("create container %s: %w", cfg.GetMetadata().GetName(), err))
	}
	bg := context.WithoutCancel(ctx)
	if err := os.MkdirAll(c.Rootfs, 0o700); err != nil {
		return fail(err)
	}
	undo = append(undo, func() {
		// Never through layers a cut-short idmapped mount left attached.
		if err := image.RemoveIDMapStage(dir); err != nil {
			r.logErr("remove idmapped layers", err)
			return
		}
		os.RemoveAll(dir)
	})
	rootfs, err := r.images.PrepareRootfs(ctx, c.rootfsKey(), img.ID)
	if err != nil {
		return fail(fmt.Errorf("prepare rootfs: %w", err))
	}
	undo = append(undo, func() { r.logErr("remove rootfs", r.images.RemoveRootfs(c.rootfsKey())) })
	if err := mountRootfs(rootfs, c.Rootfs, sb); err != nil {
		return fail(fmt.Errorf("mount rootfs: %w", err))
	}
	undo = append(undo, func() { r.logErr("unmount rootfs", image.Unmount(c.Rootfs)) })
	mounted, unmountImages, err := r.mountImageVolumes(ctx, c.ID, dir, cfg, sb)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, unmountImages)
	c.Config = mounted

	in, err := r.specInput(c, sb, img)
	if err != nil {
		return fail(err)
	}
	spec, err := buildSpec(in)
	if err != nil {
		return fail(err)
	}
	c.User = &containerUser{UID: spec.Process.User.UID, GID: spec.Process.User.GID, Groups: spec.Process.User.AdditionalGids}
	if c.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(c.LogPath), 0o755); err != nil {
			return fail(fmt.Errorf("create log directory: %w", err))
		}
	}
	st, err := r.supervisor.Create(ctx, supervisor.ContainerSpec{
		ID: c.ID, SandboxID: sb.ID, Spec: spec, LogPath: c.LogPath,
		Stdin: cfg.GetStdin(), StdinOnce: cfg.GetStdinOnce(), TTY: cfg.GetTty(),
	})
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { r.logErr("delete container", r.supervisor.Delete(bg, c.ID)) })
	mergeState(&c, st)
	c.State = runtimeapi.ContainerState_CONTAINER_CREATED
	if err := r.containers.add(c); err != nil {
		return fail(err)
	}
	r.emitContainerEvent(c.ID, sb.ID, runtimeapi.ContainerEventType_CONTAINER_CREATED_EVENT)
	return &runtimeapi.CreateContainerResponse{ContainerId: c.ID}, nil
}

func (r *Runtime) validateContainerConfig(cfg *runtimeapi.ContainerConfig, sb sandbox) error {
	if cfg == nil {
		return invalidArg("config", "missing")
	}
	if cfg.GetMetadata().GetName() == "" {
		return invalidArg("config.metadata.name", "must not be empty")
	}
	if cfg.GetImage().GetImage() == "" {
		return invalidArg("config.image.image", "must not be empty")
	}
	if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		return failedPrecondition("sandbox %s is not ready", sb.ID)
	}
	for _, o := range r.containersOf(sb.ID) {
		md := o.Config.GetMetadata()
		if md.GetName() == cfg.GetMetadata().GetName() && md.GetAttempt() == cfg.GetMetadata().GetAttempt() {
			return fmt.Errorf("container %q (attempt %d) already exists in sandbox %s as %s: %w",
				md.GetName(), md.GetAttempt(), sb.ID, o.ID, errAlreadyExists)
		}
	}
	return nil
}

// specInput gathers what buildSpec needs from the machine: the user from
// the image's files, the host devices, a Localhost seccomp profile, the
// target container's pid namespace; and checks that bind mount sources
// exist.
func (r *Runtime) specInput(c container, sb sandbox, img image.Image) (specInput, error) {
	cfg := c.Config
	sc := cfg.GetLinux().GetSecurityContext()
	in := specInput{
		ID: c.ID, Config: cfg, Sandbox: &sb, Image: img.Config, Rootfs: c.Rootfs,
		SwapAvailable: r.swapAvailable, MinOOMScoreAdj: r.minOOMScoreAdj, HostCapabilities: r.hostCaps,
	}
	db, err := readUserDB(c.Rootfs)
	if err != nil {
		return in, err
	}
	if in.User, err = resolveUser(db, sc, img.Config.User); err != nil {
		return in, err
	}
	for i, m := range cfg.GetMounts() {
		if _, err := os.Stat(m.GetHostPath()); err != nil {
			return in, invalidArg(fmt.Sprintf("config.mounts[%d].host_path", i), "%v", err)
		}
	}
	for i, d := range cfg.GetDevices() {
		dev, err := hostDevice(d)
		if err != nil {
			return in, invalidArg(fmt.Sprintf("config.devices[%d].host_path", i), "%v", err)
		}
		in.Devices = append(in.Devices, dev)
	}
	if kind, ref := seccompRequest(sc); kind == runtimeapi.SecurityProfile_Localhost && !sc.GetPrivileged() {
		b, err := os.ReadFile(ref)
		if err != nil {
			return in, invalidArg("config.linux.security_context.seccomp.localhost_ref", "%v", err)
		}
		in.LocalhostSeccomp = &specs.LinuxSeccomp{}
		if err := json.Unmarshal(b, in.LocalhostSeccomp); err != nil {
			return in, invalidArg("config.linux.security_context.seccomp.localhost_ref", "decode %s: %v", ref, err)
		}
	}
	if nso := sc.GetNamespaceOptions(); nso.GetPid() == runtimeapi.NamespaceMode_TARGET {
		t, err := r.containers.get(nso.GetTargetId())
		if err != nil || t.State != runtimeapi.ContainerState_CONTAINER_RUNNING || t.Pid == 0 {
			return in, invalidArg("config.linux.security_context.namespace_options.target_id", "container %q is not running", nso.GetTargetId())
		}
		in.TargetPIDNS = fmt.Sprintf("/proc/%d/ns/pid", t.Pid)
	}
	return in, nil
}

// hostDevice describes a host device node for the container's spec.
func hostDevice(d *runtimeapi.Device) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(d.GetHostPath(), &st); err != nil {
		return specs.LinuxDevice{}, fmt.Errorf("stat %s: %w", d.GetHostPath(), err)
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s is not a device node", d.GetHostPath())
	}
	mode := os.FileMode(st.Mode &^ unix.S_IFMT)
	uid, gid := st.Uid, st.Gid
	path := d.GetContainerPath()
	if path == "" {
		path = d.GetHostPath()
	}
	return specs.LinuxDevice{
		Path: path, Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// containerLogPath is the sandbox's log directory joined with the
// container's log path, as the kubelet names them; "" when either is
// missing (no log).
func containerLogPath(sb sandbox, cfg *runtimeapi.ContainerConfig) string {
	if cfg.GetLogPath() == "" || sb.Config.GetLogDirectory() == "" {
		return ""
	}
	return filepath.Join(sb.Config.GetLogDirectory(), cfg.GetLogPath())
}

// imageDisplayName is what ContainerStatus reports as the image: the
// name the user gave when it is one of the image's tags, else its first
// tag, else the ID.
func imageDisplayName(img image.Image, asked string) string {
	for _, t := range img.RepoTags {
		if t == asked {
			return t
		}
	}
	if len(img.RepoTags) > 0 {
		return img.RepoTags[0]
	}
	return img.ID
}

// mountRootfs mounts the container's overlay at target; in a pod's user
// namespace through idmapped layers, at the end of a path the
// namespace's root may search (it is no one on the host).
func mountRootfs(rootfs image.Rootfs, target string, sb sandbox) error {
	uid, gid, ok := usernsRoot(sb)
	if !ok {
		return rootfs.Mount(target)
	}
	if err := searchable(target); err != nil {
		return err
	}
	return rootfs.MountIDMapped(target, sb.UserNS, uid, gid)
}

// searchable lets others search dir and every directory above it, as
// containerd makes its state directories (0711): what is inside stays
// unlisted and unreadable.
func searchable(dir string) error {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if m := fi.Mode().Perm(); m&0o011 != 0o011 {
			if err := os.Chmod(d, m|0o011); err != nil {
				return err
			}
		}
		if d == "/" {
			return nil
		}
	}
}
