package local

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func tcp(ports ...int32) []Port {
	var out []Port
	for _, p := range ports {
		out = append(out, Port{corev1.ProtocolTCP, p})
	}
	return out
}

func mustPool(t *testing.T, s string) Pool {
	t.Helper()
	p, err := ParsePool(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChoose(t *testing.T) {
	nodes := addrs("192.168.1.10", "192.168.1.11", "fd00::10")
	pool := mustPool(t, "10.99.0.200-10.99.0.202,fd00:99::1-fd00:99::2")
	for _, tc := range []struct {
		name    string
		want    Want
		pool    Pool
		nodes   []netip.Addr
		others  []Claim
		got     []netip.Addr
		err     error
		message string
	}{
		{
			name:  "no pool: every ready node's IPv4 address",
			want:  Want{Service: "default/web", Ports: tcp(80)},
			nodes: nodes,
			got:   addrs("192.168.1.10", "192.168.1.11"),
		},
		{
			name:  "no pool, dual stack: both families",
			want:  Want{Service: "default/web", Ports: tcp(80), Families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}},
			nodes: nodes,
			got:   addrs("192.168.1.10", "192.168.1.11", "fd00::10"),
		},
		{
			name:    "no pool, no node",
			want:    Want{Service: "default/web", Ports: tcp(80)},
			err:     ErrNoNodes,
			message: "no ready node has an address",
		},
		{
			name:    "no pool, IPv6 only, nodes without IPv6",
			want:    Want{Service: "default/web", Ports: tcp(80), Families: []corev1.IPFamily{corev1.IPv6Protocol}},
			nodes:   addrs("192.168.1.10"),
			err:     ErrNoNodes,
			message: "no ready node has an IPv6 address",
		},
		{
			name:    "no pool: a port another service has on the node addresses",
			want:    Want{Service: "default/b", Ports: tcp(443, 80)},
			nodes:   nodes,
			others:  []Claim{{Service: "default/a", Addrs: addrs("192.168.1.10", "192.168.1.11"), Ports: tcp(80)}},
			err:     ErrPortConflict,
			message: "port 80/TCP on the node addresses is already used by service default/a",
		},
		{
			name:   "no pool: same port, other protocol",
			want:   Want{Service: "default/b", Ports: []Port{{corev1.ProtocolUDP, 80}}},
			nodes:  nodes,
			others: []Claim{{Service: "default/a", Addrs: addrs("192.168.1.10", "192.168.1.11"), Ports: tcp(80)}},
			got:    addrs("192.168.1.10", "192.168.1.11"),
		},
		{
			name:    "no pool: a port the nodes use themselves",
			want:    Want{Service: "default/web", Ports: tcp(6443)},
			nodes:   nodes,
			err:     ErrPortConflict,
			message: "port 6443/TCP on the node addresses is the nodes' own (the API server)",
		},
		{
			name:  "no pool: loadBalancerIP one node's address",
			want:  Want{Service: "default/web", Ports: tcp(80), Requested: addrs("192.168.1.11")},
			nodes: nodes,
			got:   addrs("192.168.1.11"),
		},
		{
			name:    "no pool: loadBalancerIP no node has",
			want:    Want{Service: "default/web", Ports: tcp(80), Requested: addrs("10.0.0.1")},
			nodes:   nodes,
			err:     ErrRequested,
			message: "loadBalancerIP 10.0.0.1 is not the address of a ready node",
		},
		{
			name: "pool: the first free address",
			want: Want{Service: "default/c", Ports: tcp(80)},
			pool: pool,
			others: []Claim{
				{Service: "default/a", Addrs: addrs("10.99.0.200"), Ports: tcp(80)},
				{Service: "default/b", Addrs: addrs("10.99.0.202"), Ports: tcp(80)},
			},
			got: addrs("10.99.0.201"),
		},
		{
			name: "pool: the address it has is kept",
			want: Want{Service: "default/c", Ports: tcp(80), Current: addrs("10.99.0.202")},
			pool: pool,
			got:  addrs("10.99.0.202"),
		},
		{
			name:   "pool: an address it had that another took is not",
			want:   Want{Service: "default/c", Ports: tcp(80), Current: addrs("10.99.0.200")},
			pool:   pool,
			others: []Claim{{Service: "default/a", Addrs: addrs("10.99.0.200"), Ports: tcp(80)}},
			got:    addrs("10.99.0.201"),
		},
		{
			name: "pool: dual stack",
			want: Want{Service: "default/c", Ports: tcp(80), Families: []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}},
			pool: pool,
			got:  addrs("fd00:99::1", "10.99.0.200"),
		},
		{
			name: "pool: exhausted",
			want: Want{Service: "default/d", Ports: tcp(80)},
			pool: pool,
			others: []Claim{
				{Service: "default/a", Addrs: addrs("10.99.0.200"), Ports: tcp(80)},
				{Service: "default/b", Addrs: addrs("10.99.0.201"), Ports: tcp(80)},
				{Service: "default/c", Addrs: addrs("10.99.0.202"), Ports: tcp(80)},
			},
			err:     ErrPoolFull,
			message: "every IPv4 address of the pool 10.99.0.200-10.99.0.202,fd00:99::1-fd00:99::2 is in use",
		},
		{
			name:    "pool: no range of the family",
			want:    Want{Service: "default/d", Ports: tcp(80), Families: []corev1.IPFamily{corev1.IPv6Protocol}},
			pool:    mustPool(t, "10.99.0.200/30"),
			err:     ErrPoolFull,
			message: "the address pool 10.99.0.200-10.99.0.203 has no IPv6 range",
		},
		{
			name: "pool: loadBalancerIP in the pool",
			want: Want{Service: "default/d", Ports: tcp(80), Requested: addrs("10.99.0.202")},
			pool: pool,
			got:  addrs("10.99.0.202"),
		},
		{
			name:    "pool: loadBalancerIP outside the pool",
			want:    Want{Service: "default/d", Ports: tcp(80), Requested: addrs("10.98.0.1")},
			pool:    pool,
			err:     ErrRequested,
			message: "loadBalancerIP 10.98.0.1 is not in the address pool",
		},
		{
			name:    "pool: loadBalancerIP in use",
			want:    Want{Service: "default/d", Ports: tcp(443), Requested: addrs("10.99.0.200")},
			pool:    pool,
			others:  []Claim{{Service: "default/a", Addrs: addrs("10.99.0.200"), Ports: tcp(80)}},
			err:     ErrRequested,
			message: "loadBalancerIP 10.99.0.200 is already used by service default/a",
		},
		{
			name:  "pool: node addresses and reserved ports do not matter",
			want:  Want{Service: "default/d", Ports: tcp(6443)},
			pool:  pool,
			nodes: nodes,
			got:   addrs("10.99.0.200"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Choose(tc.want, Env{Pool: tc.pool, NodeAddrs: tc.nodes, Reserved: DefaultReserved()}, tc.others)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.message) {
					t.Fatalf("error = %v, want %v saying %q", err, tc.err, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.got) {
				t.Errorf("addresses = %v, want %v", got, tc.got)
			}
		})
	}
}

// TestChooseDeterministic: whatever order the claims come in, the same
// conflicting service is named.
func TestChooseDeterministic(t *testing.T) {
	others := []Claim{
		{Service: "ns/z", Addrs: addrs("192.168.1.10"), Ports: tcp(80)},
		{Service: "ns/a", Addrs: addrs("192.168.1.10"), Ports: tcp(80)},
	}
	for range 10 {
		_, err := Choose(Want{Service: "ns/b", Ports: tcp(80)}, Env{NodeAddrs: addrs("192.168.1.10")}, others)
		if err == nil || !strings.Contains(err.Error(), "service ns/a") {
			t.Fatalf("error = %v, want the conflict with ns/a", err)
		}
		slices.Reverse(others)
	}
}

func TestParsePool(t *testing.T) {
	for _, tc := range []struct {
		in, out, err string
	}{
		{in: "10.99.0.200-10.99.0.250", out: "10.99.0.200-10.99.0.250"},
		{in: "10.99.0.200 - 10.99.0.250, fd00::1-fd00::ff", out: "10.99.0.200-10.99.0.250,fd00::1-fd00::ff"},
		{in: "10.99.0.8/29", out: "10.99.0.8-10.99.0.15"},
		{in: "10.99.0.9/29", out: "10.99.0.8-10.99.0.15"},
		{in: "10.99.0.7", out: "10.99.0.7"},
		{in: "", out: ""},
		{in: "10.99.0.250-10.99.0.200", err: "ends before it starts"},
		{in: "10.99.0.1-fd00::1", err: "mixes IPv4 and IPv6"},
		{in: "10.99.0.300", err: "10.99.0.300"},
		{in: "0.0.0.0", err: "cannot be a load balancer address"},
		{in: "127.0.0.1-127.0.0.5", err: "cannot be a load balancer address"},
		{in: "10.99.0.1-10.99.0.10,10.99.0.5", err: "10.99.0.5 overlaps 10.99.0.1-10.99.0.10"},
		{in: "10.99.0.0/33", err: "10.99.0.0/33"},
	} {
		p, err := ParsePool(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePool(%q) error = %v, want one saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePool(%q): %v", tc.in, err)
			continue
		}
		if p.String() != tc.out {
			t.Errorf("ParsePool(%q) = %s, want %s", tc.in, p, tc.out)
		}
	}
}

func TestPoolOverlap(t *testing.T) {
	for _, tc := range []struct {
		pool, cidr string
		overlap    bool
	}{
		{"10.99.0.200-10.99.0.250", "10.43.0.0/16", false},
		{"10.43.255.250-10.44.0.5", "10.43.0.0/16", true},
		{"10.42.0.0/24", "10.42.0.0/16", true},
		{"10.41.255.255-10.42.0.0", "10.42.0.0/16", true},
		{"10.41.0.0-10.41.255.255", "10.42.0.0/16", false},
		{"fd00::1-fd00::5", "10.42.0.0/16", false},
	} {
		err := mustPool(t, tc.pool).CheckOverlap("pod CIDR", netip.MustParsePrefix(tc.cidr))
		if (err != nil) != tc.overlap {
			t.Errorf("pool %s vs %s: %v, want overlap %v", tc.pool, tc.cidr, err, tc.overlap)
		}
		if err != nil && !strings.Contains(err.Error(), "overlaps the pod CIDR "+tc.cidr) {
			t.Errorf("error %q does not name the CIDR", err)
		}
	}
}
