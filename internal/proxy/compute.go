package proxy

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Names of the table's fixed objects.
const (
	TableName           = "kemudi-proxy"
	mapServiceIPs       = "service-ips"
	mapServiceNodePorts = "service-nodeports"
	mapNoEndpointIPs    = "no-endpoint-services"
	mapNoEndpointPorts  = "no-endpoint-nodeports"
	mapFirewallIPs      = "firewall-ips"
	setMasqClusterIPs   = "cluster-ips-masquerade"
	setHairpin          = "hairpin"
	chainFirewallCheck  = "firewall-check"
	chainServices       = "services"
	chainEndpointsCheck = "endpoints-check"
	chainMasquerading   = "masquerading"
	chainMarkMasq       = "mark-for-masquerade"
	chainReject         = "reject-chain"
)

// Base computes the service-independent part of the table: the verdict
// maps' dispatch, masquerading and the rejection of untranslated service
// traffic. Hooked chains are created by the applier (see hooks).
func Base(cfg Config) *Ruleset {
	rs := newRuleset()
	notLoopback := matchAddr{Negate: true, Prefix: netip.MustParsePrefix("127.0.0.0/8")}
	var services []Rule
	for _, c := range cfg.ClusterCIDRs {
		if c.Addr().Is4() {
			// Cluster-IP traffic from outside the pod network is
			// masqueraded so that replies come back through this node:
			// one rule for every service, over a set of their cluster
			// IPs (see computePort).
			services = append(services, Rule{matchServiceInSet{Set: setMasqClusterIPs},
				matchAddr{Src: true, Negate: true, Prefix: c}, markMasq(cfg)})
		}
	}
	rs.Chains[chainServices] = append(services,
		Rule{vmapService{Map: mapServiceIPs, WithAddr: true}},
		Rule{matchFibLocal{}, notLoopback, vmapService{Map: mapServiceNodePorts}},
	)
	rs.Chains[chainFirewallCheck] = []Rule{{vmapService{Map: mapFirewallIPs, WithAddr: true}}}
	rs.Chains[chainEndpointsCheck] = []Rule{
		{vmapService{Map: mapNoEndpointIPs, WithAddr: true}},
		{matchFibLocal{}, notLoopback, vmapService{Map: mapNoEndpointPorts}},
	}
	rs.Chains[chainMasquerading] = []Rule{
		// A connection DNATed to its own source (hairpin) must come back
		// through the node, as upstream's endpoint chains mark it.
		{matchCtDNAT{}, matchHairpin{Set: setHairpin}, masquerade{}},
		{matchMarkClear{Bit: cfg.MasqueradeBit}, verdict{Verdict{Kind: "return"}}},
		{setMark{Bit: cfg.MasqueradeBit, Toggle: true}},
		{masquerade{}},
	}
	rs.Chains[chainMarkMasq] = []Rule{{setMark{Bit: cfg.MasqueradeBit}}}
	rs.Chains[chainReject] = []Rule{
		{matchProto{Proto: protoTCP}, reject{TCPReset: true}},
		{reject{}},
	}
	// Load balancers' source ranges are enforced, then services without
	// endpoints are rejected, before DNAT and before routing (which would
	// answer "unreachable" for the service range).
	check := []Rule{
		{matchCtNew{}, verdict{jumpChain(chainFirewallCheck)}},
		{matchCtNew{}, verdict{jumpChain(chainEndpointsCheck)}},
	}
	var untranslated []Rule
	for _, p := range cfg.ServiceCIDRs {
		if p.Addr().Is4() {
			// After DNAT, a packet of the node's still bound for the
			// service range matched no service.
			untranslated = append(untranslated, Rule{matchAddr{Prefix: p}, verdict{gotoChain(chainReject)}})
		}
	}
	rs.Chains["nat-prerouting"] = []Rule{{verdict{jumpChain(chainServices)}}}
	rs.Chains["nat-output"] = []Rule{{verdict{jumpChain(chainServices)}}}
	rs.Chains["nat-postrouting"] = []Rule{{verdict{jumpChain(chainMasquerading)}}}
	rs.Chains["filter-prerouting"] = check
	rs.Chains["filter-output"] = check
	rs.Chains["filter-output-post-dnat"] = untranslated
	return rs
}

// Compute is the rules one service needs: per port, the chains spreading
// its traffic over endpoints, the endpoints' DNAT chains, and its elements
// in the shared verdict maps. It is pure.
func Compute(svc *Service, cfg Config) *Ruleset {
	rs := newRuleset()
	if !svc.ClusterIP.IsValid() || !svc.ClusterIP.Is4() {
		return rs
	}
	for _, p := range svc.Ports {
		computePort(rs, svc, p, cfg)
	}
	return rs
}

func computePort(rs *Ruleset, svc *Service, p ServicePort, cfg Config) {
	base := portChainBase(svc, p)
	clusterEps, localEps := categorize(svc.Endpoints[p.Name])
	clusterChain, localChain := "cluster-"+base, "local-"+base

	// chainFor adds the load-balancing chain over eps (once) and names it.
	chainFor := func(name string, eps []Endpoint) string {
		if len(eps) == 0 {
			return ""
		}
		if _, done := rs.Chains[name]; !done {
			rs.Chains[name] = lbRules(rs, svc, p, name, base, eps)
		}
		return name
	}

	// Internal traffic: the cluster IP.
	internalEps, internalChain := clusterEps, clusterChain
	if svc.InternalLocal {
		internalEps, internalChain = localEps, localChain+"-internal"
	}
	key := ElemKey{Map: mapServiceIPs, Addr: svc.ClusterIP, Proto: p.Protocol, Port: p.Port}
	if c := chainFor(internalChain, internalEps); c != "" {
		rs.Elems[key] = gotoChain(c)
		if slices.ContainsFunc(cfg.ClusterCIDRs, func(pfx netip.Prefix) bool { return pfx.Addr().Is4() }) {
			// Masqueraded from outside the pod network by the services
			// chain's rule (see Base), not by a rule of this chain's: at
			// 10,000 services, a rule each was a sixth of the kernel's
			// work in a full sync; an element each costs a tenth of that.
			rs.Elems[ElemKey{Map: setMasqClusterIPs, Addr: svc.ClusterIP, Proto: p.Protocol, Port: p.Port}] = Verdict{}
		}
	} else {
		key.Map = mapNoEndpointIPs
		rs.Elems[key] = noEndpointVerdict(svc.InternalLocal)
	}

	// External traffic: node ports, external IPs, load-balancer IPs.
	var extKeys []ElemKey
	for _, a := range append(slices.Clone(svc.ExternalIPs), svc.LoadBalancerIPs...) {
		if a.Is4() {
			extKeys = append(extKeys, ElemKey{Map: mapServiceIPs, Addr: a, Proto: p.Protocol, Port: p.Port})
		}
	}
	if p.NodePort != 0 {
		extKeys = append(extKeys, ElemKey{Map: mapServiceNodePorts, Proto: p.Protocol, Port: p.NodePort})
	}
	firewall(rs, svc, p, base, cfg)
	if len(extKeys) == 0 {
		return
	}
	extChain := "external-" + base
	var ext []Rule
	switch {
	case !svc.ExternalLocal && len(clusterEps) > 0:
		ext = []Rule{{markMasq(cfg)}, {verdict{gotoChain(chainFor(clusterChain, clusterEps))}}}
	case svc.ExternalLocal && (len(clusterEps) > 0 || len(localEps) > 0):
		if c := chainFor(clusterChain, clusterEps); c != "" {
			// Pods and the node itself reach every endpoint (upstream's
			// short circuit); the node's own traffic is masqueraded.
			for _, cidr := range cfg.ClusterCIDRs {
				if cidr.Addr().Is4() {
					ext = append(ext, Rule{matchAddr{Src: true, Prefix: cidr}, verdict{gotoChain(c)}})
				}
			}
			ext = append(ext, Rule{matchFibLocal{Src: true}, markMasq(cfg)}, Rule{matchFibLocal{Src: true}, verdict{gotoChain(c)}})
		}
		if c := chainFor(localChain, localEps); c != "" {
			ext = append(ext, Rule{verdict{gotoChain(c)}})
		} else {
			ext = append(ext, Rule{verdict{Verdict{Kind: "drop"}}})
		}
	}
	if ext == nil {
		for _, k := range extKeys {
			k.Map = noEndpointMap(k.Map)
			rs.Elems[k] = noEndpointVerdict(false)
		}
		return
	}
	rs.Chains[extChain] = ext
	for _, k := range extKeys {
		rs.Elems[k] = gotoChain(extChain)
	}
}

// firewall drops traffic to the service's load-balancer addresses from
// clients outside its loadBalancerSourceRanges, as upstream's firewall
// chains: the firewall map sends such a packet to the port's chain, which
// returns for an allowed source and drops the rest.
func firewall(rs *Ruleset, svc *Service, p ServicePort, base string, cfg Config) {
	if !svc.Firewalled {
		return
	}
	var lbIPs []netip.Addr
	for _, a := range svc.LoadBalancerIPs {
		if a.Is4() {
			lbIPs = append(lbIPs, a)
		}
	}
	if len(lbIPs) == 0 {
		return
	}
	name := "firewall-" + base
	var rules []Rule
	allowNode := false
	for _, r := range svc.SourceRanges {
		rules = append(rules, Rule{matchAddr{Src: true, Prefix: r}, verdict{Verdict{Kind: "return"}}})
		for _, n := range cfg.NodeIPs {
			allowNode = allowNode || r.Contains(n)
		}
	}
	if allowNode {
		// The node's own connections to an address it holds come from
		// that address.
		for _, a := range lbIPs {
			rules = append(rules, Rule{matchAddr{Src: true, Prefix: netip.PrefixFrom(a, 32)}, verdict{Verdict{Kind: "return"}}})
		}
	}
	rs.Chains[name] = append(rules, Rule{verdict{Verdict{Kind: "drop"}}})
	for _, a := range lbIPs {
		rs.Elems[ElemKey{Map: mapFirewallIPs, Addr: a, Proto: p.Protocol, Port: p.Port}] = gotoChain(name)
	}
}

// lbRules spreads new connections over eps at random. Without session
// affinity one rule does it: numgen picks one of the chain's
// slotsPerChain slots, and the endpoint whose range of slots holds it
// (an interval map, see slots.go) is where the packet is DNATed to. So:
//   - there is no chain per endpoint (the kernel walks every chain
//     reachable from the hooks on each commit, and at 10,000 services the
//     endpoint chains were nine in ten). Upstream's nftables mode has a
//     chain per endpoint; the packets see the same translation;
//   - the rule does not change with the endpoints: an endpoint change
//     only changes map elements, which the kernel commits without
//     validating the whole table (a new DNAT rule made it walk every
//     chain: 15 ms at 10,000 services). The ranges differ by at most one
//     slot in 65,535: as even as upstream's split.
//
// A chain has at most slotsPerChain endpoints.
//
// With affinity, as upstream: clients with an entry in an endpoint's set
// go back to that endpoint, the rest are spread over the endpoints'
// chains, which refresh the entry and DNAT.
func lbRules(rs *Ruleset, svc *Service, p ServicePort, chain, base string, eps []Endpoint) []Rule {
	for _, ep := range eps {
		rs.Hairpin[ep.Addr] = true
	}
	if svc.AffinityTimeout <= 0 {
		eps = eps[:min(len(eps), slotsPerChain)]
		for i, ep := range eps {
			start, end := slotSplit(i, len(eps)), slotSplit(i+1, len(eps))
			rs.Backends[BackendKey{Map: chain, Slot: start}] = Backend{To: netip.AddrPortFrom(ep.Addr, ep.Port), End: end}
		}
		return []Rule{{matchProto{Proto: p.Protocol}, dnatSlot{Map: chain, Modulus: slotsPerChain}}}
	}
	var rules []Rule
	var targets []string
	for _, ep := range eps {
		name := fmt.Sprintf("endpoint-%s__%s/%d", base, ep.Addr, ep.Port)
		targets = append(targets, name)
		rules = append(rules, Rule{matchSaddrInSet{Set: affinitySet(name)}, verdict{gotoChain(name)}})
		if _, done := rs.Chains[name]; done {
			continue
		}
		set := affinitySet(name)
		rs.Sets[set] = svc.AffinityTimeout
		rs.Chains[name] = []Rule{
			{updateSaddr{Set: set, Timeout: svc.AffinityTimeout}},
			{matchProto{Proto: p.Protocol}, dnat{Addr: ep.Addr, Port: ep.Port}},
		}
	}
	return append(rules, Rule{numgenVmap{Chains: targets}})
}

// markMasq marks a packet for masquerading in postrouting. It is inline
// rather than a jump to a shared chain: the kernel validates every chain
// reachable from the hooks on each commit, following each jump, and at
// 10,000 services a jump per endpoint was a third of that walk.
func markMasq(cfg Config) Stmt { return setMark{Bit: cfg.MasqueradeBit} }

// affinitySet names an endpoint's set of clients; "endpoint-" is replaced so
// the name stays unique and readable.
func affinitySet(endpointChain string) string { return "affinity-" + endpointChain[len("endpoint-"):] }

// categorize picks the endpoints traffic may use, as upstream does: ready
// ones, or, when none is ready, the serving ones that are terminating.
func categorize(eps []Endpoint) (cluster, local []Endpoint) {
	pick := func(localOnly bool) []Endpoint {
		var ready, terminating []Endpoint
		for _, e := range eps {
			if localOnly && !e.Local {
				continue
			}
			if e.Ready {
				ready = append(ready, e)
			} else if e.Serving && e.Terminating {
				terminating = append(terminating, e)
			}
		}
		if len(ready) > 0 {
			return ready
		}
		return terminating
	}
	return pick(false), pick(true)
}

func noEndpointMap(m string) string {
	if m == mapServiceNodePorts {
		return mapNoEndpointPorts
	}
	return mapNoEndpointIPs
}

// noEndpointVerdict: rejected at once, except traffic policy Local without
// local endpoints, which upstream drops.
func noEndpointVerdict(local bool) Verdict {
	if local {
		return Verdict{Kind: "drop"}
	}
	return gotoChain(chainReject)
}

// portChainBase is unique per service port and readable: a hash (names may
// be long) and namespace/name/protocol/port.
func portChainBase(svc *Service, p ServicePort) string {
	id := fmt.Sprintf("%s/%s/%s/%s", svc.Namespace, svc.Name, protoName(p.Protocol), p.Name)
	sum := sha256.Sum256([]byte(id))
	return base32.StdEncoding.EncodeToString(sum[:])[:8] + "-" + id
}

// ClusterChain names the chain that spreads a service port's cluster
// traffic over its endpoints (see ProgrammedEndpoints).
func ClusterChain(namespace, name, protocol, portName string) string {
	proto := protoOf(corev1.Protocol(strings.ToUpper(protocol)))
	return "cluster-" + portChainBase(&Service{Namespace: namespace, Name: name}, ServicePort{Name: portName, Protocol: proto})
}
