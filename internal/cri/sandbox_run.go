package cri

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/network"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// RunPodSandbox creates a pod's network namespace (unless it uses the
// node's), its IPC/UTS (and shared PID) namespaces and cgroup through the
// supervisor, sets up its network, writes its /etc/hosts, /etc/hostname
// and /etc/resolv.conf, and records it READY. A failed step undoes the
// ones before it.
func (r *Runtime) RunPodSandbox(ctx context.Context, req *runtimeapi.RunPodSandboxRequest) (*runtimeapi.RunPodSandboxResponse, error) {
	cfg := req.GetConfig()
	if err := r.validateSandboxConfig(cfg, req.GetRuntimeHandler()); err != nil {
		return nil, grpcError(err)
	}
	sb := sandbox{
		ID:             newID(),
		Config:         cfg,
		RuntimeHandler: req.GetRuntimeHandler(),
		State:          runtimeapi.PodSandboxState_SANDBOX_READY,
		CreatedAt:      now(),
		CgroupParent:   cfg.GetLinux().GetCgroupParent(),
	}
	sb.Dir = r.sandboxes.recordDir(sb.ID)
	if sb.CgroupParent == "" {
		sb.CgroupParent = path.Join(r.opts.CgroupParent, sb.ID)
	}
	unlock := r.locks.lock(sb.ID)
	defer unlock()

	var undo []func()
	fail := func(err error) (*runtimeapi.RunPodSandboxResponse, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return nil, grpcError(fmt.Errorf("run pod sandbox %s: %w", cfg.GetMetadata().GetName(), err))
	}
	bg := context.WithoutCancel(ctx) // undo even when the caller gave up
	if err := os.MkdirAll(sb.Dir, 0o700); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { os.RemoveAll(sb.Dir) })

	userns := sandboxUserns(sb.usernsOptions())
	if !sb.hostNetwork() && userns != nil {
		// The supervisor makes it inside the pod's user namespace.
		path, err := network.ReserveNetNS(r.netnsDir(), sb.ID)
		if err != nil {
			return fail(fmt.Errorf("create network namespace: %w", err))
		}
		sb.NetNS = path
		undo = append(undo, func() { r.logErr("remove netns", network.RemoveNetNS(path)) })
	} else if !sb.hostNetwork() {
		path, err := network.CreateNetNS(r.netnsDir(), sb.ID)
		if err != nil {
			return fail(fmt.Errorf("create network namespace: %w", err))
		}
		sb.NetNS = path
		undo = append(undo, func() { r.logErr("remove netns", network.RemoveNetNS(path)) })
	}
	nso := sb.namespaceOptions()
	ns, err := r.supervisor.CreateSandbox(ctx, supervisor.SandboxSpec{
		ID:           sb.ID,
		Hostname:     sb.hostname(),
		NetNS:        sb.NetNS,
		HostIPC:      nso.GetIpc() == runtimeapi.NamespaceMode_NODE,
		HostUTS:      sb.hostNetwork(), // a pod on the node's network has the node's hostname
		HostPID:      nso.GetPid() == runtimeapi.NamespaceMode_NODE,
		SharePID:     nso.GetPid() == runtimeapi.NamespaceMode_POD,
		Sysctls:      cfg.GetLinux().GetSysctls(),
		CgroupParent: sb.CgroupParent,
		Userns:       userns,
	})
	if err != nil {
		return fail(fmt.Errorf("create sandbox namespaces: %w", err))
	}
	sb.UserNS = ns.UserNS
	if userns != nil && sb.NetNS != "" {
		if err := network.LoopbackUp(sb.NetNS); err != nil {
			return fail(fmt.Errorf("create network namespace: %w", err))
		}
	}
	undo = append(undo, func() { r.logErr("remove sandbox", r.supervisor.RemoveSandbox(bg, sb.ID)) })
	sb.IPCNS, sb.UTSNS, sb.PIDNS = ns.IPCNS, ns.UTSNS, ns.PIDNS
	if sb.NetNS == "" {
		sb.NetNS = ns.NetNS
	}

	if !sb.hostNetwork() {
		sn := sandboxNet(sb)
		res, err := r.network.Setup(ctx, sn)
		if err != nil {
			return fail(fmt.Errorf("set up the pod network: %w", err))
		}
		undo = append(undo, func() { r.logErr("network teardown", r.network.Teardown(bg, sn)) })
		for _, ip := range res.IPs {
			sb.IPs = append(sb.IPs, ip.String())
		}
		sb.NetworkReady = true
	}
	if err := writeSandboxFiles(sb); err != nil {
		return fail(err)
	}
	if err := mountSandboxShm(&sb); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { r.logErr("unmount shm", unmountSandboxShm(sb)) })
	if err := r.sandboxes.add(sb); err != nil {
		return fail(err)
	}
	r.log.Info("sandbox ready", "id", sb.ID, "pod", cfg.GetMetadata().GetNamespace()+"/"+cfg.GetMetadata().GetName(), "ips", sb.IPs)
	r.emitContainerEvent(sb.ID, sb.ID, runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT)
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: sb.ID}, nil
}

func (r *Runtime) validateSandboxConfig(cfg *runtimeapi.PodSandboxConfig, handler string) error {
	if cfg == nil {
		return invalidArg("config", "missing")
	}
	md := cfg.GetMetadata()
	if md.GetName() == "" {
		return invalidArg("config.metadata.name", "must not be empty")
	}
	if md.GetNamespace() == "" {
		return invalidArg("config.metadata.namespace", "must not be empty")
	}
	if h := cfg.GetHostname(); len(h) > 64 {
		return invalidArg("config.hostname", "%q is longer than a hostname can be (64 bytes)", h)
	}
	if handler != "" && handler != defaultHandler {
		return invalidArg("runtime_handler", "no runtime handler %q: this runtime has only %q, the default", handler, defaultHandler)
	}
	if err := validateUserns(cfg); err != nil {
		return err
	}
	if p := cfg.GetLinux().GetCgroupParent(); p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, ".slice")) {
		return invalidArg("config.linux.cgroup_parent", "%q: only cgroupfs paths are supported (the runtime's cgroup driver is cgroupfs)", p)
	}
	same := r.sandboxes.filter(func(sb *sandbox) bool {
		o := sb.Config.GetMetadata()
		return o.GetName() == md.GetName() && o.GetNamespace() == md.GetNamespace() && o.GetUid() == md.GetUid() && o.GetAttempt() == md.GetAttempt()
	})
	if len(same) > 0 {
		return fmt.Errorf("sandbox %s/%s (uid %q, attempt %d) already exists as %s: %w",
			md.GetNamespace(), md.GetName(), md.GetUid(), md.GetAttempt(), same[0].ID, errAlreadyExists)
	}
	return nil
}

var errAlreadyExists = errors.New("already exists")

func sandboxNet(sb sandbox) network.SandboxNet {
	md := sb.Config.GetMetadata()
	sn := network.SandboxNet{ID: sb.ID, Name: md.GetName(), Namespace: md.GetNamespace(), UID: md.GetUid(), NetNS: sb.NetNS}
	for _, pm := range sb.Config.GetPortMappings() {
		sn.PortMappings = append(sn.PortMappings, network.PortMapping{
			Protocol:      strings.ToLower(pm.GetProtocol().String()),
			ContainerPort: pm.GetContainerPort(),
			HostPort:      pm.GetHostPort(),
			HostIP:        pm.GetHostIp(),
		})
	}
	return sn
}

// writeSandboxFiles writes the files every container of the pod mounts:
// /etc/hostname, /etc/hosts (the node's for a pod on the node's network,
// else localhost and the pod's own name) and /etc/resolv.conf (from the
// DNS config, else the node's).
func writeSandboxFiles(sb sandbox) error {
	if err := os.WriteFile(sb.hostnamePath(), []byte(sb.hostname()+"\n"), 0o644); err != nil {
		return fmt.Errorf("write hostname: %w", err)
	}
	hosts, err := sandboxHosts(sb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(sb.hostsPath(), hosts, 0o644); err != nil {
		return fmt.Errorf("write hosts: %w", err)
	}
	resolv, err := sandboxResolvConf(sb.Config.GetDnsConfig())
	if err != nil {
		return err
	}
	if err := os.WriteFile(sb.resolvPath(), resolv, 0o644); err != nil {
		return fmt.Errorf("write resolv.conf: %w", err)
	}
	return nil
}

func sandboxHosts(sb sandbox) ([]byte, error) {
	if sb.hostNetwork() {
		b, err := os.ReadFile("/etc/hosts")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read the node's /etc/hosts: %w", err)
		}
		return b, nil
	}
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	for _, ip := range sb.IPs {
		fmt.Fprintf(&b, "%s\t%s\n", ip, sb.hostname())
	}
	return []byte(b.String()), nil
}

func sandboxResolvConf(dns *runtimeapi.DNSConfig) ([]byte, error) {
	if len(dns.GetServers()) == 0 && len(dns.GetSearches()) == 0 && len(dns.GetOptions()) == 0 {
		b, err := os.ReadFile("/etc/resolv.conf")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read the node's /etc/resolv.conf: %w", err)
		}
		return b, nil
	}
	var b strings.Builder
	if len(dns.GetSearches()) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(dns.GetSearches(), " "))
	}
	for _, s := range dns.GetServers() {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(dns.GetOptions()) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.GetOptions(), " "))
	}
	return []byte(b.String()), nil
}

func (r *Runtime) logErr(what string, err error) {
	if err != nil {
		r.log.Warn(what, "err", err)
	}
}
