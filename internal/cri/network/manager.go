package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// ErrNotReady is wrapped by Status and Setup while pods cannot get a network.
var ErrNotReady = errors.New("pod network not ready")

// Manager gives sandboxes their network.
type Manager struct {
	opts    Options
	log     *slog.Logger
	hostNS  netns.NsHandle // the node's namespace, held open
	nft     nftTable
	records records
	cni     *cniNetwork // nil: the built-in network

	portMu    sync.Mutex               // guards hostPorts
	hostPorts map[string][]PortMapping // by sandbox; nil until loaded from the records

	mu       sync.Mutex            // guards what follows
	podCIDRs []*net.IPNet          // IPv4 first
	allocs   map[string]*allocator // by pod CIDR
	mtu      int                   // the uplink's, found by configureNode
}

// New opens the node's namespace and state; with a pod CIDR (or a CNI
// configuration) the network is ready at once.
func New(opts Options) (*Manager, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m := &Manager{opts: opts, log: opts.Log, records: records{dir: filepath.Join(opts.StateDir, "sandboxes")}, allocs: map[string]*allocator{}}
	if err := os.MkdirAll(m.records.dir, 0o700); err != nil {
		return nil, fmt.Errorf("network state: %w", err)
	}
	var err error
	if opts.HostNetNS != "" {
		m.hostNS, err = netns.GetFromPath(opts.HostNetNS)
	} else {
		m.hostNS, err = netns.Get()
	}
	if err != nil {
		return nil, fmt.Errorf("open node netns %q: %w", opts.HostNetNS, err)
	}
	m.nft = nftTable{nsFd: int(m.hostNS), mu: &sync.Mutex{}}
	if opts.CNIConfDir != "" {
		m.cni = newCNINetwork(opts, m.hostNS)
	}
	if opts.PodCIDR != "" {
		if err := m.SetPodCIDR(opts.PodCIDR); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// Close releases the node namespace handle; the network stays as it is.
// The Manager must not be used after.
func (m *Manager) Close() error {
	return m.hostNS.Close()
}

// SetPodCIDR sets the node's pod range, or a dual-stack pair "v4,v6" (the
// kubelet's UpdateRuntimeConfig). For the built-in network it (re)configures
// the bridge's gateway addresses, the node's forwarding sysctls and the
// masquerade rules. Sandboxes set up before a change keep their addresses.
func (m *Manager) SetPodCIDR(cidr string) error {
	subnets, err := parsePodCIDRs(cidr)
	if err != nil {
		return fmt.Errorf("set pod CIDR: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cni == nil {
		if err := m.configureNode(subnets); err != nil {
			return fmt.Errorf("set pod CIDR %s: %w", cidr, err)
		}
	}
	if m.podCIDRs != nil && cidrsString(m.podCIDRs) != cidrsString(subnets) {
		m.log.Info("pod CIDR changed", "from", cidrsString(m.podCIDRs), "to", cidrsString(subnets))
	}
	m.podCIDRs = subnets
	return nil
}

func cidrsString(ns []*net.IPNet) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.String()
	}
	return strings.Join(s, ",")
}

// configureNode makes the node ready for pods of subnets: bridge, sysctls,
// nftables.
func (m *Manager) configureNode(subnets []*net.IPNet) error {
	h, err := netlink.NewHandleAt(m.hostNS)
	if err != nil {
		return fmt.Errorf("netlink in node netns: %w", err)
	}
	defer h.Delete()
	m.mtu = uplinkMTU(h)
	if _, err := ensureBridge(h, m.opts.Bridge, subnets, m.mtu); err != nil {
		return err
	}
	if err := ensureSysctls(m.hostNS, nodeSysctls(m.opts.Bridge, subnets)); err != nil {
		return err
	}
	clusterCIDRs := make([]*net.IPNet, 0, len(m.opts.ClusterCIDRs))
	for _, c := range m.opts.ClusterCIDRs {
		_, n, _ := net.ParseCIDR(c) // validated in New
		clusterCIDRs = append(clusterCIDRs, n)
	}
	for _, subnet := range subnets {
		if err := m.nft.ensureBase(subnet, clusterCIDRs); err != nil {
			return err
		}
	}
	return nil
}

// gatewayOf is the first address of subnet, the bridge's.
func gatewayOf(subnet *net.IPNet) net.IP {
	p, _ := toPrefix(subnet)
	return net.IP(p.Addr().Next().AsSlice())
}

// Status is nil when pods can get a network (the CRI's NetworkReady), else
// says why not.
func (m *Manager) Status() error {
	if m.cni != nil {
		return m.cni.status(context.Background())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.podCIDRs == nil {
		return fmt.Errorf("%w: no pod CIDR yet", ErrNotReady)
	}
	return nil
}

// allocator returns the allocator of cidr, creating it once.
func (m *Manager) allocator(subnet *net.IPNet) (*allocator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := subnet.String()
	if a, ok := m.allocs[key]; ok {
		return a, nil
	}
	a, err := newAllocator(m.opts.StateDir, subnet)
	if err != nil {
		return nil, err
	}
	m.allocs[key] = a
	return a, nil
}

// podMTU is the MTU pods get: the uplink's when the node was configured
// (SetPodCIDR), or 1500.
func (m *Manager) podMTU() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mtu == 0 {
		return 1500
	}
	return m.mtu
}

func (m *Manager) currentPodCIDRs() []*net.IPNet {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.podCIDRs
}

// Setup gives the sandbox its network: an address, an interface in its
// namespace and its hostPorts. On failure nothing of it is left.
func (m *Manager) Setup(ctx context.Context, sb SandboxNet) (Result, error) {
	if err := validSandbox(sb); err != nil {
		return Result{}, err
	}
	var (
		res Result
		err error
	)
	if m.cni != nil {
		res, err = m.setupCNI(ctx, sb)
	} else {
		res, err = m.setupBuiltin(ctx, sb)
	}
	if err != nil {
		if terr := m.Teardown(context.WithoutCancel(ctx), sb); terr != nil {
			m.log.Warn("undo failed network setup", "sandbox", sb.ID, "err", terr)
		}
		return Result{}, fmt.Errorf("network setup of sandbox %s: %w", sb.ID, err)
	}
	return res, nil
}

func validSandbox(sb SandboxNet) error {
	if sb.ID == "" || filepath.Base(sb.ID) != sb.ID || sb.ID[0] == '.' {
		return fmt.Errorf("network: invalid sandbox id %q", sb.ID)
	}
	if sb.NetNS == "" {
		return fmt.Errorf("network: sandbox %s has no network namespace", sb.ID)
	}
	if err := validPortMappings(sb.PortMappings); err != nil {
		return fmt.Errorf("network: sandbox %s: %w", sb.ID, err)
	}
	return nil
}

// Teardown removes the sandbox's interface, address, rules and record. It
// is idempotent and works when the namespace is already gone.
func (m *Manager) Teardown(ctx context.Context, sb SandboxNet) error {
	if sb.ID == "" || filepath.Base(sb.ID) != sb.ID {
		return fmt.Errorf("network: invalid sandbox id %q", sb.ID)
	}
	rec, ok, err := m.records.get(sb.ID)
	if err != nil {
		// Unreadable (torn by a machine crash): undo from what sb says.
		m.log.Warn("unreadable sandbox record", "sandbox", sb.ID, "err", err)
	}
	if !ok {
		rec = record{ID: sb.ID, NetNS: sb.NetNS, Name: sb.Name, Namespace: sb.Namespace, UID: sb.UID, PortMappings: sb.PortMappings}
		rec.Mode = modeBuiltin
		if m.cni != nil {
			rec.Mode = modeCNI
		}
	}
	if rec.NetNS == "" {
		rec.NetNS = sb.NetNS
	}
	if err := m.teardown(ctx, rec); err != nil {
		return fmt.Errorf("network teardown of sandbox %s: %w", sb.ID, err)
	}
	return nil
}

func (m *Manager) teardown(ctx context.Context, rec record) error {
	var err error
	if rec.Mode == modeCNI {
		err = m.teardownCNI(ctx, rec)
	} else {
		err = m.teardownBuiltin(rec)
	}
	if err != nil {
		return err
	}
	m.forgetHostPorts(rec.ID)
	return m.records.remove(rec.ID)
}
