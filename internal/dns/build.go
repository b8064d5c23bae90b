package dns

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// SnapshotConfig is what a snapshot needs besides the objects.
type SnapshotConfig struct {
	// Zone is the cluster domain, e.g. "cluster.local".
	Zone string
	// TTL of every record (the specification leaves it to the server;
	// CoreDNS's default is 5 s).
	TTL uint32
	// Pods answers pod names (default PodsInsecure).
	Pods PodMode
	// DNSService is the namespace/name of the Service in front of this
	// server; its cluster IPs are the address of the zone's NS.
	DNSService string
	// Serial is the SOA serial (the caller bumps it per snapshot).
	Serial uint32
}

// BuildSnapshot computes the records of the given Services and
// EndpointSlices. It does not modify its arguments.
func BuildSnapshot(cfg SnapshotConfig, services []*corev1.Service, endpointSlices []*discoveryv1.EndpointSlice) *Snapshot {
	zone := dns.CanonicalName(cfg.Zone)
	b := &builder{s: &Snapshot{
		zone: zone, pod: "pod." + zone, ttl: cfg.TTL, pods: cfg.Pods,
		names: make(map[string]rrsets, 2*len(services)+8),
	}}
	if b.s.pods == "" {
		b.s.pods = PodsInsecure
	}
	bySvc := slicesByService(endpointSlices)
	b.apex(cfg)
	for _, svc := range services {
		key := svc.Namespace + "/" + svc.Name
		b.service(svc, bySvc[key])
		if key == cfg.DNSService {
			for _, a := range clusterIPs(svc) {
				b.add(addrRR("ns.dns."+zone, a, cfg.TTL))
			}
		}
	}
	return b.s
}

type builder struct{ s *Snapshot }

// apex adds the zone's SOA and NS, dns-version, and the svc and pod
// subtrees.
func (b *builder) apex(cfg SnapshotConfig) {
	zone, ttl := b.s.zone, cfg.TTL
	b.s.soa = &dns.SOA{
		Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:  "ns.dns." + zone, Mbox: "hostmaster." + zone,
		Serial: cfg.Serial, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: ttl,
	}
	b.add(b.s.soa)
	b.add(&dns.NS{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: ttl}, Ns: "ns.dns." + zone})
	b.add(&dns.TXT{Hdr: dns.RR_Header{Name: "dns-version." + zone, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}, Txt: []string{SchemaVersion}})
	b.exists("svc." + zone)
	b.exists("ns.dns." + zone)
	if b.s.pods == PodsInsecure {
		b.exists(b.s.pod)
	}
}

// service adds one Service's records.
func (b *builder) service(svc *corev1.Service, eps []*discoveryv1.EndpointSlice) {
	name := strings.ToLower(svc.Name + "." + svc.Namespace + ".svc." + b.s.zone)
	if _, ok := dns.IsDomainName(name); !ok {
		return
	}
	b.exists(name)
	ttl := b.s.ttl
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		target := dns.Fqdn(strings.ToLower(svc.Spec.ExternalName))
		// An ExternalName that is no DNS name (or an IP) gets no record.
		if len(validation.IsDNS1123Subdomain(strings.TrimSuffix(target, "."))) > 0 || isIP(svc.Spec.ExternalName) {
			return
		}
		b.add(&dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl}, Target: target})
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		b.headless(name, eps)
	default:
		ips := clusterIPs(svc)
		for _, a := range ips {
			b.add(addrRR(name, a, ttl))
			if rev := reverseName(a); rev != "" {
				b.add(ptrRR(rev, name, ttl))
			}
		}
		if len(ips) == 0 {
			return
		}
		for _, p := range svc.Spec.Ports {
			if p.Name == "" {
				continue
			}
			b.srv(p.Name, p.Protocol, name, uint16(p.Port), name, 1)
		}
	}
}

// headless adds one A/AAAA per ready endpoint at the service name, a name
// per endpoint (its hostname, or its dashed address), SRV records per
// named port and endpoint, and the endpoints' PTRs.
func (b *builder) headless(name string, eps []*discoveryv1.EndpointSlice) {
	type target struct {
		host string
		addr netip.Addr
	}
	var targets []target
	seen := map[netip.Addr]bool{}
	type port struct {
		name  string
		proto corev1.Protocol
		num   int32
	}
	var ports []port
	for _, es := range eps {
		if es.AddressType != discoveryv1.AddressTypeIPv4 && es.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		for _, p := range es.Ports {
			if p.Name == nil || *p.Name == "" || p.Port == nil {
				continue
			}
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			pt := port{*p.Name, proto, *p.Port}
			if !slices.Contains(ports, pt) {
				ports = append(ports, pt)
			}
		}
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, s := range ep.Addresses {
				a, err := netip.ParseAddr(s)
				if err != nil || seen[a] {
					continue
				}
				seen[a] = true
				host := dashedIP(a)
				if ep.Hostname != nil && *ep.Hostname != "" {
					host = strings.ToLower(*ep.Hostname)
				}
				targets = append(targets, target{host, a})
			}
		}
	}
	ttl := b.s.ttl
	for _, t := range targets {
		b.add(addrRR(name, t.addr, ttl))
		epName := t.host + "." + name
		if _, ok := dns.IsDomainName(epName); !ok {
			continue
		}
		b.add(addrRR(epName, t.addr, ttl))
		if rev := reverseName(t.addr); rev != "" {
			b.add(ptrRR(rev, epName, ttl))
		}
	}
	for _, p := range ports {
		for _, t := range targets {
			b.srv(p.name, p.proto, name, uint16(p.num), t.host+"."+name, len(targets))
		}
	}
}

// srv adds _<port>._<proto>.<svc> SRV <target>, and the empty
// non-terminal _<proto>.<svc>. Weights share 100 among n targets.
func (b *builder) srv(portName string, proto corev1.Protocol, svcName string, port uint16, target string, n int) {
	owner := "_" + strings.ToLower(portName) + "._" + strings.ToLower(string(proto)) + "." + svcName
	if _, ok := dns.IsDomainName(owner); !ok {
		return
	}
	for _, rr := range b.s.names[owner].get(dns.TypeSRV) {
		if s := rr.(*dns.SRV); s.Target == target && s.Port == port {
			return
		}
	}
	b.add(&dns.SRV{
		Hdr:      dns.RR_Header{Name: owner, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: b.s.ttl},
		Priority: 0, Weight: uint16(max(1, 100/max(n, 1))), Port: port, Target: target,
	})
}

// add puts rr under its owner; in-zone owners get their ancestors as
// empty non-terminals.
func (b *builder) add(rr dns.RR) {
	owner := rr.Header().Name
	set, ok := b.s.names[owner]
	if !ok {
		b.exists(owner)
	}
	b.s.names[owner] = set.add(rr)
}

// exists makes name (and its in-zone ancestors) exist.
func (b *builder) exists(name string) {
	if _, ok := b.s.names[name]; ok {
		return
	}
	b.s.names[name] = nil
	if !dns.IsSubDomain(b.s.zone, name) {
		return
	}
	for _, p := range parentNames(name, b.s.zone) {
		if _, ok := b.s.names[p]; ok {
			break
		}
		b.s.names[p] = nil
	}
}

func ptrRR(owner, target string, ttl uint32) dns.RR {
	return &dns.PTR{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: target}
}

// clusterIPs returns a Service's cluster IPs (dual-stack aware).
func clusterIPs(svc *corev1.Service) []netip.Addr {
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var out []netip.Addr
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// slicesByService groups EndpointSlices by namespace/service-name label.
func slicesByService(all []*discoveryv1.EndpointSlice) map[string][]*discoveryv1.EndpointSlice {
	out := make(map[string][]*discoveryv1.EndpointSlice, len(all))
	for _, es := range all {
		svc := es.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			continue
		}
		key := es.Namespace + "/" + svc
		out[key] = append(out[key], es)
	}
	return out
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
