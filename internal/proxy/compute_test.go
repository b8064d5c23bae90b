package proxy

import (
	"flag"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var rewrite = flag.Bool("rewrite", false, "rewrite golden files under testdata/")

func ep(addr string, port uint16, ready, local bool) Endpoint {
	return Endpoint{Addr: netip.MustParseAddr(addr), Port: port, Ready: ready, Serving: ready, Local: local}
}

func testConfig() Config {
	return Config{
		ClusterCIDRs:  []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		ServiceCIDRs:  []netip.Prefix{netip.MustParsePrefix("10.43.0.0/16")},
		MasqueradeBit: 0x4000,
		NodeIPs:       []netip.Addr{netip.MustParseAddr("192.168.50.1")},
	}
}

func TestCompute(t *testing.T) {
	web := func() *Service {
		return &Service{Namespace: "default", Name: "web", ClusterIP: netip.MustParseAddr("10.43.0.20"),
			Ports:     []ServicePort{{Name: "http", Protocol: protoTCP, Port: 80}},
			Endpoints: map[string][]Endpoint{"http": {ep("10.42.0.5", 8080, true, true), ep("10.42.1.6", 8080, true, false)}}}
	}
	terminating := web()
	terminating.Endpoints["http"] = []Endpoint{
		{Addr: netip.MustParseAddr("10.42.0.5"), Port: 8080, Serving: true, Terminating: true},
		{Addr: netip.MustParseAddr("10.42.0.7"), Port: 8080, Terminating: true}, // not serving: never used
	}
	readyWins := web()
	readyWins.Endpoints["http"] = append(readyWins.Endpoints["http"], Endpoint{Addr: netip.MustParseAddr("10.42.0.9"), Port: 8080, Serving: true, Terminating: true})
	none := web()
	none.Endpoints = nil
	none.Ports[0].NodePort = 30080
	none.ExternalIPs = []netip.Addr{netip.MustParseAddr("192.0.2.10")}
	nodePort := web()
	nodePort.Ports[0].NodePort = 30080
	nodePort.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("192.0.2.20")}
	local := web()
	local.Ports[0].NodePort = 30080
	local.ExternalLocal = true
	local.HealthCheckNodePort = 31000
	localNone := web()
	localNone.Ports[0].NodePort = 30080
	localNone.ExternalLocal = true
	localNone.Endpoints["http"] = localNone.Endpoints["http"][1:]
	internalLocal := web()
	internalLocal.InternalLocal = true
	internalLocalNone := web()
	internalLocalNone.InternalLocal = true
	internalLocalNone.Endpoints["http"] = internalLocalNone.Endpoints["http"][1:]
	affinity := web()
	affinity.AffinityTimeout = 3 * time.Hour
	multi := &Service{Namespace: "kube-system", Name: "kube-dns", ClusterIP: netip.MustParseAddr("10.43.0.10"),
		Ports:     []ServicePort{{Name: "dns", Protocol: protoUDP, Port: 53}, {Name: "dns-tcp", Protocol: protoTCP, Port: 53}, {Name: "sctp", Protocol: protoSCTP, Port: 9}},
		Endpoints: map[string][]Endpoint{"dns": {ep("10.42.0.3", 53, true, true)}, "dns-tcp": {ep("10.42.0.3", 53, true, true)}}}
	headless := web()
	headless.ClusterIP = netip.Addr{}
	firewalled := func(ranges ...string) *Service {
		s := web()
		s.Ports[0].NodePort = 30080
		s.LoadBalancerIPs = []netip.Addr{netip.MustParseAddr("192.0.2.20")}
		s.Firewalled = true
		for _, r := range ranges {
			s.SourceRanges = append(s.SourceRanges, netip.MustParsePrefix(r))
		}
		return s
	}
	noLB := firewalled("198.51.100.0/24")
	noLB.LoadBalancerIPs = nil

	tests := []struct {
		name string
		svc  *Service
	}{
		{"clusterip", web()},
		{"terminating-fallback", terminating},
		{"ready-before-terminating", readyWins},
		{"no-endpoints", none},
		{"nodeport-loadbalancer", nodePort},
		{"external-local", local},
		{"external-local-no-local-endpoints", localNone},
		{"internal-local", internalLocal},
		{"internal-local-no-local-endpoints", internalLocalNone},
		{"session-affinity", affinity},
		{"protocols", multi},
		{"headless", headless},
		{"source-ranges", firewalled("198.51.100.0/24", "203.0.113.7/32")},
		{"source-ranges-with-node", firewalled("192.168.50.0/24")},
		{"source-ranges-none-valid", firewalled()},
		{"source-ranges-no-lb-address", noLB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, filepath.Join("testdata", tt.name+".golden"), Compute(tt.svc, testConfig()).Render())
		})
	}
	t.Run("base", func(t *testing.T) { golden(t, "testdata/base.golden", Base(testConfig()).Render()) })
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *rewrite {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -rewrite to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (-rewrite to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// One endpoint added to a service redraws that service's ranges of slots
// and adds its hairpin address, and nothing else: no rule changes (a new
// rule makes the kernel validate the whole table).
func TestDiffOneEndpoint(t *testing.T) {
	svc := &Service{Namespace: "default", Name: "web", ClusterIP: netip.MustParseAddr("10.43.0.20"),
		Ports:     []ServicePort{{Name: "http", Protocol: protoTCP, Port: 80}},
		Endpoints: map[string][]Endpoint{"http": {ep("10.42.0.5", 8080, true, true)}}}
	before := Compute(svc, testConfig())
	svc.Endpoints["http"] = append(svc.Endpoints["http"], ep("10.42.0.6", 8080, true, true))
	c := Diff(before, Compute(svc, testConfig()))
	if len(c.AddChains)+len(c.FlushChains) != 0 || len(c.AddBackends) != 2 || len(c.DelBackends) != 1 || len(c.AddHairpin) != 1 ||
		len(c.DelChains)+len(c.DelElems)+len(c.AddElems)+len(c.DelHairpin) != 0 {
		t.Errorf("one endpoint added: want the range of one split in two, one hairpin address added and no chain touched, got %+v", c)
	}
	if c2 := Diff(Compute(svc, testConfig()), Compute(svc, testConfig())); !c2.Empty() {
		t.Errorf("same service twice: want no change, got %+v", c2)
	}
	svc.Endpoints = nil
	c = Diff(before, Compute(svc, testConfig()))
	// Its elements go: the address's in service-ips (to the no-endpoint
	// map) and in the set of cluster IPs masqueraded from outside.
	if len(c.DelChains) != 1 || len(c.DelElems) != 2 || len(c.AddElems) != 1 || len(c.DelMaps) != 1 || len(c.DelBackends) != 1 || len(c.DelHairpin) != 1 {
		t.Errorf("last endpoint gone: want its chain and range deleted and the address moved to the no-endpoint map, got %+v", c)
	}
}

// An endpoint two services share stays in the hairpin set until neither
// uses it.
func TestHairpinCounts(t *testing.T) {
	a, b := netip.MustParseAddr("10.42.0.5"), netip.MustParseAddr("10.42.0.6")
	tests := []struct {
		name     string
		before   map[netip.Addr]int
		changes  []*Change
		add, del []netip.Addr
		after    map[netip.Addr]int
	}{
		{"first owner adds", map[netip.Addr]int{}, []*Change{{AddHairpin: []netip.Addr{a}}}, []netip.Addr{a}, nil, map[netip.Addr]int{a: 1}},
		{"second owner adds nothing", map[netip.Addr]int{a: 1}, []*Change{{AddHairpin: []netip.Addr{a}}}, nil, nil, map[netip.Addr]int{a: 2}},
		{"one of two owners goes", map[netip.Addr]int{a: 2}, []*Change{{DelHairpin: []netip.Addr{a}}}, nil, nil, map[netip.Addr]int{a: 1}},
		{"last owner goes", map[netip.Addr]int{a: 1, b: 1}, []*Change{{DelHairpin: []netip.Addr{a}}}, nil, []netip.Addr{a}, map[netip.Addr]int{b: 1}},
		{"moved between owners in one sync", map[netip.Addr]int{a: 1}, []*Change{{DelHairpin: []netip.Addr{a}}, {AddHairpin: []netip.Addr{a}}}, nil, nil, map[netip.Addr]int{a: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.before)
			add, del, changed := hairpinChanges(tt.changes, tt.before)
			if !maps.Equal(before, tt.before) {
				t.Errorf("the applied counts changed before the kernel took the transaction: %v", tt.before)
			}
			after := maps.Clone(tt.before)
			setCounts(after, changed)
			if !slices.Equal(add, tt.add) || !slices.Equal(del, tt.del) || !maps.Equal(after, tt.after) {
				t.Errorf("got add %v del %v counts %v, want add %v del %v counts %v", add, del, after, tt.add, tt.del, tt.after)
			}
		})
	}
}
