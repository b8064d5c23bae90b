package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netns"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// cniNetwork runs the first CNI configuration of a directory through libcni.
// Plugins run as processes in the node's namespace (they create the host
// side: bridge, routes, iptables), forked from a thread that is in it.
type cniNetwork struct {
	confDir string
	cni     *libcni.CNIConfig
	hostNS  netns.NsHandle
	log     *slog.Logger
}

func newCNINetwork(opts Options, hostNS netns.NsHandle) *cniNetwork {
	return &cniNetwork{
		confDir: opts.CNIConfDir,
		cni:     libcni.NewCNIConfigWithCacheDir(filepath.SplitList(opts.CNIBinDir), filepath.Join(opts.StateDir, "cni-cache"), nil),
		hostNS:  hostNS,
		log:     opts.Log,
	}
}

// load returns the first valid configuration in lexical order of file
// names (.conflist, .conf, .json), as the kubelet's CNI users do.
func (c *cniNetwork) load() (*libcni.NetworkConfigList, error) {
	files, err := libcni.ConfFiles(c.confDir, []string{".conflist", ".conf", ".json"})
	if err != nil {
		return nil, fmt.Errorf("%w: read CNI config dir %s: %v", ErrNotReady, c.confDir, err)
	}
	slices.Sort(files)
	for _, f := range files {
		list, err := loadConfFile(f)
		if err != nil {
			c.log.Warn("skipping CNI config", "file", f, "err", err)
			continue
		}
		if len(list.Plugins) == 0 {
			continue
		}
		return list, nil
	}
	return nil, fmt.Errorf("%w: no CNI network configuration in %s", ErrNotReady, c.confDir)
}

func loadConfFile(f string) (*libcni.NetworkConfigList, error) {
	if strings.HasSuffix(f, ".conflist") {
		return libcni.ConfListFromFile(f)
	}
	conf, err := libcni.ConfFromFile(f)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromConf(conf)
}

func (c *cniNetwork) status(ctx context.Context) error {
	list, err := c.load()
	if err != nil {
		return err
	}
	if _, err := c.cni.ValidateNetworkList(ctx, list); err != nil {
		return fmt.Errorf("%w: CNI network %s: %v", ErrNotReady, list.Name, err)
	}
	return nil
}

func runtimeConf(rec record) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID: rec.ID,
		NetNS:       rec.NetNS,
		IfName:      podInterface,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", rec.Namespace},
			{"K8S_POD_NAME", rec.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", rec.ID},
			{"K8S_POD_UID", rec.UID},
		},
	}
	var pms []map[string]any
	for _, pm := range rec.PortMappings {
		if pm.HostPort <= 0 {
			continue
		}
		proto := strings.ToLower(pm.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		pms = append(pms, map[string]any{"hostPort": pm.HostPort, "containerPort": pm.ContainerPort, "protocol": proto, "hostIP": pm.HostIP})
	}
	if len(pms) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": pms}
	}
	return rt
}

func (m *Manager) setupCNI(ctx context.Context, sb SandboxNet) (Result, error) {
	list, err := m.cni.load()
	if err != nil {
		return Result{}, err
	}
	rec := record{
		ID: sb.ID, Mode: modeCNI, NetNS: sb.NetNS, CNINetwork: list.Name, PortMappings: sb.PortMappings,
		Name: sb.Name, Namespace: sb.Namespace, UID: sb.UID,
	}
	if err := m.records.put(rec); err != nil {
		return Result{}, err
	}
	var raw types.Result
	err = netnsrun.In(m.hostNS, func() error {
		r, err := m.cni.cni.AddNetworkList(ctx, list, runtimeConf(rec))
		raw = r
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("CNI ADD %s: %w", list.Name, err)
	}
	res, err := cniResult(raw)
	if err != nil {
		return Result{}, fmt.Errorf("CNI ADD %s: %w", list.Name, err)
	}
	for _, ip := range res.IPs {
		rec.IPs = append(rec.IPs, ip.String())
	}
	if err := m.records.put(rec); err != nil {
		return Result{}, err
	}
	return res, nil
}

// cniResult picks the addresses of the sandbox's interfaces.
func cniResult(raw types.Result) (Result, error) {
	if raw == nil {
		return Result{}, errors.New("no result")
	}
	cur, err := types100.NewResultFromResult(raw)
	if err != nil {
		return Result{}, fmt.Errorf("convert result: %w", err)
	}
	res := Result{Interface: podInterface}
	for _, ipc := range cur.IPs {
		if ipc.Interface != nil && *ipc.Interface < len(cur.Interfaces) {
			iface := cur.Interfaces[*ipc.Interface]
			if iface.Sandbox == "" {
				continue
			}
			res.Interface = iface.Name
		}
		res.IPs = append(res.IPs, ipc.Address.IP)
		if res.Gateway == nil && ipc.Gateway != nil {
			res.Gateway = ipc.Gateway
		}
	}
	if len(res.IPs) == 0 {
		return Result{}, errors.New("the plugins gave the sandbox no address")
	}
	slices.SortStableFunc(res.IPs, func(a, b net.IP) int { // IPv4 first
		return boolInt(a.To4() == nil) - boolInt(b.To4() == nil)
	})
	return res, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m *Manager) teardownCNI(ctx context.Context, rec record) error {
	if m.cni == nil {
		m.log.Warn("sandbox was set up by CNI, which is no longer configured: nothing to run", "sandbox", rec.ID)
		return nil
	}
	list, err := m.cni.load()
	if err != nil {
		return err
	}
	if rec.NetNS != "" {
		if _, err := os.Stat(rec.NetNS); err != nil {
			rec.NetNS = "" // gone: plugins release what is outside it
		}
	}
	err = netnsrun.In(m.hostNS, func() error {
		return m.cni.cni.DelNetworkList(ctx, list, runtimeConf(rec))
	})
	if err != nil {
		return fmt.Errorf("CNI DEL %s: %w", list.Name, err)
	}
	return nil
}

// Check verifies that a sandbox's network is still as set up: CNI CHECK for
// a plugin chain; the pod interface and its address for the built-in one.
func (m *Manager) Check(ctx context.Context, sb SandboxNet) error {
	rec, ok, err := m.records.get(sb.ID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("network check of sandbox %s: no network set up", sb.ID)
	}
	if rec.Mode == modeCNI {
		if m.cni == nil {
			return fmt.Errorf("network check of sandbox %s: set up by CNI, which is no longer configured", sb.ID)
		}
		list, err := m.cni.load()
		if err != nil {
			return err
		}
		err = netnsrun.In(m.hostNS, func() error { return m.cni.cni.CheckNetworkList(ctx, list, runtimeConf(rec)) })
		if err != nil {
			return fmt.Errorf("CNI CHECK %s of sandbox %s: %w", list.Name, sb.ID, err)
		}
		return nil
	}
	return m.checkBuiltin(rec)
}
