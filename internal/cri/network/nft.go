package network

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// TableName is kemudi's own nftables table (families ip and ip6); the
// runtime never touches any other.
const TableName = "kemudi-cri"

const (
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPostrouting = "postrouting"
	chainInput       = "input"
	chainHostPorts   = "hostports"  // one rule per hostPort mapping, tagged with its sandbox
	chainMasquerade  = "masquerade" // rebuilt whole when the pod CIDR changes
)

// nftTable manages kemudi's tables in the node's namespace. Changes are
// read-modify-write (list a sandbox's rules, then delete them by handle), and
// a rule dump taken while another transaction commits can come back short
// without an error, so mu serializes them: a Teardown must never miss a rule.
type nftTable struct {
	nsFd int
	mu   *sync.Mutex
}

func (t nftTable) conn() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithNetNSFd(t.nsFd))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

func table(f ipFamily) *nftables.Table {
	return &nftables.Table{Name: TableName, Family: f.table}
}

func natChain(f ipFamily, name string, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: table(f), Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: prio}
}

func regularChain(f ipFamily, name string) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: table(f)}
}

// ensureBase creates the table of the pod CIDR's family and its chains
// (idempotent) and rewrites the rules that depend only on the node's
// configuration, in one transaction:
//
//	prerouting:  fib daddr type local jump hostports
//	output:      fib daddr type local jump hostports              (IPv4: 127.0.0.1:<hostPort> too; IPv6: daddr != ::1)
//	postrouting: jump masquerade
//	input:       iifname != lo ip daddr 127.0.0.0/8 ct state != established,related drop   (IPv4)
//	masquerade:  meta mark & 0x2000 == 0x2000 ip saddr <pod CIDR> masquerade  (hostPort from a pod, hairpin)
//	             meta mark & 0x2000 == 0x2000 ip saddr 127.0.0.0/8 masquerade (hostPort on localhost, IPv4)
//	             ip daddr <each cluster CIDR, pod CIDR> return
//	             ip saddr <pod CIDR> masquerade
//
// A hostPort on localhost needs route_localnet on the bridge, which would
// also let pods reach the node's loopback services through it
// (CVE-2020-8558): the input rule drops such packets, as kube-proxy does.
func (t nftTable) ensureBase(podCIDR *net.IPNet, clusterCIDRs []*net.IPNet) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := familyOf(podCIDR.IP)
	c, err := t.conn()
	if err != nil {
		return err
	}
	c.AddTable(table(f))
	hostPorts := c.AddChain(regularChain(f, chainHostPorts))
	masq := c.AddChain(regularChain(f, chainMasquerade))
	pre := c.AddChain(natChain(f, chainPrerouting, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest))
	out := c.AddChain(natChain(f, chainOutput, nftables.ChainHookOutput, nftables.ChainPriorityNATDest))
	post := c.AddChain(natChain(f, chainPostrouting, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource))
	chains := []*nftables.Chain{pre, out, post, masq}
	var in *nftables.Chain
	if f.localhost {
		in = c.AddChain(&nftables.Chain{Name: chainInput, Table: table(f), Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
		chains = append(chains, in)
	}
	for _, ch := range chains {
		c.FlushChain(ch)
	}
	add := func(ch *nftables.Chain, exprs ...[]expr.Any) {
		c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: concat(exprs...)})
	}
	add(pre, daddrLocal(), []expr.Any{jump(hostPorts.Name)})
	if f.localhost {
		add(out, daddrLocal(), []expr.Any{jump(hostPorts.Name)})
		add(in, notFromLoopback(), f.daddrIn(f.loopback), ctNotEstablished(), []expr.Any{drop()})
	} else {
		add(out, daddrLocal(), f.daddrOut(f.loopback), []expr.Any{jump(hostPorts.Name)})
	}
	add(post, []expr.Any{jump(masq.Name)})
	add(masq, hasMark(hostPortMark), f.saddrIn(podCIDR), []expr.Any{masquerade()})
	if f.localhost {
		add(masq, hasMark(hostPortMark), f.saddrIn(f.loopback), []expr.Any{masquerade()})
	}
	for _, n := range append(sameFamily(clusterCIDRs, f), podCIDR) {
		add(masq, f.daddrIn(n), []expr.Any{verdictReturn()})
	}
	add(masq, f.saddrIn(podCIDR), []expr.Any{masquerade()})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: set up table %s %s: %w", f.name, TableName, err)
	}
	return nil
}

func sameFamily(nets []*net.IPNet, f ipFamily) []*net.IPNet {
	var out []*net.IPNet
	for _, n := range nets {
		if familyOf(n.IP).table == f.table {
			out = append(out, n)
		}
	}
	return out
}

func sandboxComment(id string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, "sandbox "+id)
}

func ruleSandbox(r *nftables.Rule) (string, bool) {
	s, ok := userdata.GetString(r.UserData, userdata.TypeComment)
	if !ok || !strings.HasPrefix(s, "sandbox ") {
		return "", false
	}
	return strings.TrimPrefix(s, "sandbox "), true
}

// hostPortRules are a sandbox's DNAT rules, one per mapping with a host port
// and pod address of the host IP's family (both families for any host IP):
//
//	[ip daddr <hostIP>] meta l4proto <proto> th dport <hostPort> meta mark set mark | 0x2000 dnat to <pod IP>:<containerPort>
func hostPortRules(id string, podIPs []net.IP, mappings []PortMapping) ([]*nftables.Rule, error) {
	var rules []*nftables.Rule
	for _, pm := range mappings {
		if pm.HostPort == 0 {
			continue
		}
		if err := validPortMappings([]PortMapping{pm}); err != nil {
			return nil, err
		}
		proto, _ := protoNumber(pm.Protocol)
		matched := false
		for _, podIP := range podIPs {
			f := familyOf(podIP)
			var match []expr.Any
			if !anyHostIP(pm.HostIP) {
				hip := net.ParseIP(pm.HostIP)
				if familyOf(hip).table != f.table {
					continue
				}
				match = f.daddrIn(&net.IPNet{IP: hip, Mask: net.CIDRMask(int(f.addrLen)*8, int(f.addrLen)*8)})
			}
			matched = true
			ch := regularChain(f, chainHostPorts)
			rules = append(rules, &nftables.Rule{
				Table: ch.Table, Chain: ch, UserData: sandboxComment(id),
				Exprs: concat(match, l4proto(proto), dport(uint16(pm.HostPort)), setMark(hostPortMark), f.dnatTo(podIP, uint16(pm.ContainerPort))),
			})
		}
		if !matched {
			return nil, fmt.Errorf("port mapping %d->%d: the pod has no address of host IP %s's family", pm.HostPort, pm.ContainerPort, pm.HostIP)
		}
	}
	return rules, nil
}

// setSandbox replaces a sandbox's rules with rules, in one transaction.
func (t nftTable) setSandbox(id string, rules []*nftables.Rule) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, err := t.conn()
	if err != nil {
		return err
	}
	old, err := t.sandboxRules(c, func(s string) bool { return s == id })
	if err != nil {
		return err
	}
	if len(old) == 0 && len(rules) == 0 {
		return nil
	}
	for _, r := range old {
		if err := c.DelRule(r); err != nil {
			return fmt.Errorf("nftables: delete rule of sandbox %s: %w", id, err)
		}
	}
	for _, r := range rules {
		c.AddRule(r)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: hostPort rules of sandbox %s: %w", id, err)
	}
	return nil
}

// removeSandboxes deletes the rules of every sandbox match selects.
func (t nftTable) removeSandboxes(match func(id string) bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, err := t.conn()
	if err != nil {
		return err
	}
	old, err := t.sandboxRules(c, match)
	if err != nil || len(old) == 0 {
		return err
	}
	for _, r := range old {
		if err := c.DelRule(r); err != nil {
			return fmt.Errorf("nftables: delete rule: %w", err)
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: delete sandbox rules: %w", err)
	}
	return nil
}

// sandboxRules lists the hostPort rules of both families whose sandbox
// match selects; none from a table that does not exist.
func (t nftTable) sandboxRules(c *nftables.Conn, match func(id string) bool) ([]*nftables.Rule, error) {
	var out []*nftables.Rule
	for _, f := range []ipFamily{familyV4, familyV6} {
		rules, err := c.GetRules(table(f), regularChain(f, chainHostPorts))
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("nftables: list %s %s rules: %w", f.name, chainHostPorts, err)
		}
		for _, r := range rules {
			if id, ok := ruleSandbox(r); ok && match(id) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}
