package network

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// TableName is kemudi's own nftables table (family ip); the runtime never
// touches any other.
const TableName = "kemudi-cri"

const (
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPostrouting = "postrouting"
	chainInput       = "input"
	chainHostPorts   = "hostports"  // one rule per hostPort mapping, tagged with its sandbox
	chainMasquerade  = "masquerade" // rebuilt whole when the pod CIDR changes
)

// nftTable manages kemudi's table in the node's namespace.
type nftTable struct {
	nsFd int
}

func (t nftTable) conn() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithNetNSFd(t.nsFd))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
}

func natChain(name string, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: table(), Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: prio}
}

func regularChain(name string) *nftables.Chain { return &nftables.Chain{Name: name, Table: table()} }

// ensureBase creates the table and its chains (idempotent) and rewrites the
// rules that depend only on the node's configuration, in one transaction:
//
//	prerouting:  fib daddr type local jump hostports
//	output:      fib daddr type local jump hostports              (127.0.0.1:<hostPort> too)
//	postrouting: jump masquerade
//	input:       iifname != lo ip daddr 127.0.0.0/8 ct state != established,related drop
//	masquerade:  meta mark & 0x2000 == 0x2000 ip saddr <pod CIDR> masquerade  (hostPort from a pod, hairpin)
//	             meta mark & 0x2000 == 0x2000 ip saddr 127.0.0.0/8 masquerade (hostPort on localhost)
//	             ip daddr <each cluster CIDR, pod CIDR> return
//	             ip saddr <pod CIDR> masquerade
//
// A hostPort on localhost needs route_localnet on the bridge, which would
// also let pods reach the node's loopback services through it
// (CVE-2020-8558): the input rule drops such packets, as kube-proxy does.
func (t nftTable) ensureBase(podCIDR *net.IPNet, noMasq []*net.IPNet) error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	c.AddTable(table())
	hostPorts := c.AddChain(regularChain(chainHostPorts))
	masq := c.AddChain(regularChain(chainMasquerade))
	pre := c.AddChain(natChain(chainPrerouting, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest))
	out := c.AddChain(natChain(chainOutput, nftables.ChainHookOutput, nftables.ChainPriorityNATDest))
	post := c.AddChain(natChain(chainPostrouting, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource))
	in := c.AddChain(&nftables.Chain{Name: chainInput, Table: table(), Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
	for _, ch := range []*nftables.Chain{pre, out, post, in, masq} {
		c.FlushChain(ch)
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	add := func(ch *nftables.Chain, exprs ...[]expr.Any) {
		c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: concat(exprs...)})
	}
	add(pre, daddrLocal(), []expr.Any{jump(hostPorts.Name)})
	add(out, daddrLocal(), []expr.Any{jump(hostPorts.Name)})
	add(post, []expr.Any{jump(masq.Name)})
	add(in, notFromLoopback(), daddrIn(loopback), ctNotEstablished(), []expr.Any{drop()})
	add(masq, hasMark(hostPortMark), saddrIn(podCIDR), []expr.Any{masquerade()})
	add(masq, hasMark(hostPortMark), saddrIn(loopback), []expr.Any{masquerade()})
	for _, n := range append(append([]*net.IPNet(nil), noMasq...), podCIDR) {
		add(masq, daddrIn(n), []expr.Any{verdictReturn()})
	}
	add(masq, saddrIn(podCIDR), []expr.Any{masquerade()})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: set up table %s: %w", TableName, err)
	}
	return nil
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

// hostPortRules are a sandbox's DNAT rules, one per mapping with a host port:
//
//	[ip daddr <hostIP>] meta l4proto <proto> th dport <hostPort> meta mark set mark | 0x2000 dnat to <pod IP>:<containerPort>
func hostPortRules(id string, podIP net.IP, mappings []PortMapping) ([]*nftables.Rule, error) {
	ch := regularChain(chainHostPorts)
	var rules []*nftables.Rule
	for _, pm := range mappings {
		if pm.HostPort == 0 {
			continue
		}
		if err := validPortMappings([]PortMapping{pm}); err != nil {
			return nil, err
		}
		proto, _ := protoNumber(pm.Protocol)
		var match []expr.Any
		if !anyHostIP(pm.HostIP) {
			match = daddrIn(&net.IPNet{IP: net.ParseIP(pm.HostIP).To4(), Mask: net.CIDRMask(32, 32)})
		}
		rules = append(rules, &nftables.Rule{
			Table: ch.Table, Chain: ch, UserData: sandboxComment(id),
			Exprs: concat(match, l4proto(proto), dport(uint16(pm.HostPort)), setMark(hostPortMark), dnatTo(podIP, uint16(pm.ContainerPort))),
		})
	}
	return rules, nil
}

// setSandbox replaces a sandbox's rules with rules, in one transaction.
func (t nftTable) setSandbox(id string, rules []*nftables.Rule) error {
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

// sandboxRules lists the hostPort rules whose sandbox match selects; none
// when the table does not exist.
func (t nftTable) sandboxRules(c *nftables.Conn, match func(id string) bool) ([]*nftables.Rule, error) {
	rules, err := c.GetRules(table(), regularChain(chainHostPorts))
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		return nil, fmt.Errorf("nftables: list %s rules: %w", chainHostPorts, err)
	}
	var out []*nftables.Rule
	for _, r := range rules {
		if id, ok := ruleSandbox(r); ok && match(id) {
			out = append(out, r)
		}
	}
	return out, nil
}

// deleteTable removes kemudi's table; for tests and uninstall.
func (t nftTable) deleteTable() error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	c.DelTable(table())
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables: delete table %s: %w", TableName, err)
	}
	return nil
}
