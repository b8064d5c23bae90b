package dns

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
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
	svcs := make(map[string]*service, len(services))
	for _, s := range services {
		c := compactService(s)
		svcs[c.key] = c
	}
	eps := make(map[string]*endpointSlice, len(endpointSlices))
	for _, es := range endpointSlices {
		eps[es.Namespace+"/"+es.Name] = compactSlice(es)
	}
	return buildSnapshot(cfg, svcs, eps)
}

// buildSnapshot indexes compact objects for answering. The snapshot
// shares the services (never modified once made) but not the maps.
func buildSnapshot(cfg SnapshotConfig, services map[string]*service, endpointSlices map[string]*endpointSlice) *Snapshot {
	zone := dns.CanonicalName(cfg.Zone)
	s := &Snapshot{
		zone: zone, zoneSuffix: "." + zone, svcSuffix: ".svc." + zone, podSuffix: ".pod." + zone, ttl: cfg.TTL, pods: cfg.Pods,
		static:     map[string]rrsets{},
		services:   make(map[string]*service, len(services)),
		endpoints:  map[string]*endpoints{},
		namespaces: map[string]struct{}{},
		ptrs:       make(map[netip.Addr]ptrTarget, len(services)),
	}
	if s.pods == "" {
		s.pods = PodsInsecure
	}
	for key, svc := range services {
		if !s.validService(svc) {
			continue
		}
		s.services[key] = svc
		s.namespaces[svc.namespace()] = struct{}{}
		for _, a := range svc.ips {
			s.addPTR(a, ptrTarget{svc: svc})
		}
	}
	s.headless(endpointSlices)
	s.apex(cfg)
	return s
}

// validService: the service's name is a DNS name of two labels under
// svc.<zone>.
func (s *Snapshot) validService(svc *service) bool {
	name, ns := svc.name(), svc.namespace()
	return name != "" && ns != "" && len(name) <= 63 && len(ns) <= 63 &&
		!strings.Contains(svc.key, "..") && strings.Count(svc.key, ".") == 1 &&
		len(svc.key)+len(s.svcSuffix) <= 254
}

// headless gathers the ready endpoints and named ports of each headless
// service from its EndpointSlices.
func (s *Snapshot) headless(all map[string]*endpointSlice) {
	for _, es := range all {
		svc := s.services[es.service]
		if svc == nil || svc.kind != headless {
			continue
		}
		e := s.endpoints[es.service]
		if e == nil {
			e = &endpoints{}
			s.endpoints[es.service] = e
		}
		for _, p := range es.ports {
			if !slices.Contains(e.ports, p) {
				e.ports = append(e.ports, p)
			}
		}
		for _, ep := range es.endpoints {
			if slices.ContainsFunc(e.targets, func(t target) bool { return t.addr == ep.addr }) {
				continue
			}
			host := ep.host
			if host == "" {
				host = dashedIP(ep.addr)
			}
			t := target{host: host, addr: ep.addr}
			if _, ok := dns.IsDomainName(s.targetName(svc, host)); !ok {
				t.host = "" // the address is the service's, but has no name
			} else {
				s.addPTR(ep.addr, ptrTarget{svc: svc, host: host})
			}
			e.targets = append(e.targets, t)
		}
	}
}

// addPTR adds a name for address a (several services may share one).
func (s *Snapshot) addPTR(a netip.Addr, t ptrTarget) {
	a = a.Unmap()
	if prev, ok := s.ptrs[a]; ok {
		t.next = &prev
	}
	s.ptrs[a] = t
}

// apex adds the zone's SOA and NS, the NS's address, dns-version, and
// the svc and pod subtrees.
func (s *Snapshot) apex(cfg SnapshotConfig) {
	zone, ttl := s.zone, cfg.TTL
	ns := "ns.dns." + zone
	s.soa = &dns.SOA{
		Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:  ns, Mbox: "hostmaster." + zone,
		Serial: cfg.Serial, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: ttl,
	}
	s.addStatic(s.soa)
	s.addStatic(&dns.NS{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: ttl}, Ns: ns})
	s.addStatic(&dns.TXT{Hdr: dns.RR_Header{Name: "dns-version." + zone, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}, Txt: []string{SchemaVersion}})
	s.static["svc."+zone] = nil
	s.static[ns] = nil
	s.static["dns."+zone] = nil
	if s.pods == PodsInsecure {
		s.static[s.podSuffix[1:]] = nil
	}
	if namespace, name, ok := strings.Cut(cfg.DNSService, "/"); ok {
		if svc := s.services[serviceKey(namespace, name)]; svc != nil {
			for _, a := range svc.ips {
				s.addStatic(addrRR(ns, a, ttl))
			}
		}
	}
}

func (s *Snapshot) addStatic(rr dns.RR) {
	owner := rr.Header().Name
	s.static[owner] = s.static[owner].add(rr)
}

func ptrRR(owner, target string, ttl uint32) dns.RR {
	return &dns.PTR{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: ttl}, Ptr: target}
}
