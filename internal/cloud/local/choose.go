package local

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Port is one protocol and port a load balancer listens on.
type Port struct {
	Protocol corev1.Protocol
	Port     int32
}

func (p Port) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// Claim is a load balancer that exists: the service it serves
// ("namespace/name"), its addresses and its ports.
type Claim struct {
	Service string
	Addrs   []netip.Addr
	Ports   []Port
}

// Want is what a service asks of its load balancer.
type Want struct {
	Service string
	Ports   []Port
	// Families are the service's spec.ipFamilies (empty: IPv4).
	Families []corev1.IPFamily
	// Requested is spec.loadBalancerIP: the address it must have.
	Requested []netip.Addr
	// Current are the addresses it has now: kept while still valid, so
	// that an address never moves on a resync.
	Current []netip.Addr
}

// Env is what the choice depends on besides the other load balancers.
type Env struct {
	// Pool is where addresses come from; empty: the node addresses.
	Pool Pool
	// NodeAddrs are the addresses of the nodes that serve load
	// balancers (one per ready node: its ExternalIP, else InternalIP).
	NodeAddrs []netip.Addr
	// Reserved are ports the nodes use themselves, and what for: on the
	// node addresses a load balancer may not take them.
	Reserved map[Port]string
}

// Sentinel classes of the reasons a service gets no address.
var (
	ErrNoNodes      = errors.New("no node to serve the load balancer")
	ErrPortConflict = errors.New("port conflict")
	ErrPoolFull     = errors.New("address pool exhausted")
	ErrRequested    = errors.New("requested address unavailable")
)

// Choose returns the addresses of w's load balancer, given the other
// load balancers (without w's own), or an error that says why it gets
// none, naming the service in the way. It does no I/O.
func Choose(w Want, env Env, others []Claim) ([]netip.Addr, error) {
	others = slices.Clone(others)
	slices.SortFunc(others, func(a, b Claim) int { return strings.Compare(a.Service, b.Service) })
	var addrs []netip.Addr
	var err error
	if env.Pool.Empty() {
		addrs, err = chooseNodeAddrs(w, env)
	} else {
		addrs, err = choosePoolAddrs(w, env.Pool, others)
	}
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		if !sharesAddr(o.Addrs, addrs) {
			continue
		}
		for _, p := range w.Ports {
			if slices.Contains(o.Ports, p) {
				where := "the node addresses"
				if !env.Pool.Empty() {
					where = "the same address"
				}
				return nil, fmt.Errorf("%w: port %s on %s is already used by service %s", ErrPortConflict, p, where, o.Service)
			}
		}
	}
	return addrs, nil
}

func chooseNodeAddrs(w Want, env Env) ([]netip.Addr, error) {
	if len(env.NodeAddrs) == 0 {
		return nil, fmt.Errorf("%w: no ready node has an address (and no --lb-address-pool is configured)", ErrNoNodes)
	}
	for _, p := range w.Ports {
		if what, ok := env.Reserved[p]; ok {
			return nil, fmt.Errorf("%w: port %s on the node addresses is the nodes' own (%s)", ErrPortConflict, p, what)
		}
	}
	if len(w.Requested) > 0 {
		for _, r := range w.Requested {
			if !slices.Contains(env.NodeAddrs, r) {
				return nil, fmt.Errorf("%w: loadBalancerIP %s is not the address of a ready node (and no --lb-address-pool is configured)", ErrRequested, r)
			}
		}
		return sorted(w.Requested), nil
	}
	var addrs []netip.Addr
	for _, fam := range families(w) {
		for _, a := range env.NodeAddrs {
			if familyOf(a) == fam && !slices.Contains(addrs, a) {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: no ready node has an %s address", ErrNoNodes, strings.Join(familyNames(families(w)), " or "))
	}
	return sorted(addrs), nil
}

func choosePoolAddrs(w Want, pool Pool, others []Claim) ([]netip.Addr, error) {
	used := map[netip.Addr]string{}
	for _, o := range others {
		for _, a := range o.Addrs {
			used[a] = o.Service
		}
	}
	if len(w.Requested) > 0 {
		for _, r := range w.Requested {
			if !pool.Contains(r) {
				return nil, fmt.Errorf("%w: loadBalancerIP %s is not in the address pool %s", ErrRequested, r, pool)
			}
			if by, ok := used[r]; ok {
				return nil, fmt.Errorf("%w: loadBalancerIP %s is already used by service %s", ErrRequested, r, by)
			}
		}
		return sorted(w.Requested), nil
	}
	var addrs []netip.Addr
	for _, fam := range families(w) {
		a, err := pickFromPool(w.Current, fam, pool, used)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// pickFromPool keeps the service's current address of the family when
// it is still its own to keep, else takes the pool's first free one.
func pickFromPool(current []netip.Addr, fam corev1.IPFamily, pool Pool, used map[netip.Addr]string) (netip.Addr, error) {
	for _, a := range current {
		if familyOf(a) == fam && pool.Contains(a) && used[a] == "" {
			return a, nil
		}
	}
	var ranges []Range
	for _, r := range pool.Ranges {
		if familyOf(r.From) == fam {
			ranges = append(ranges, r)
		}
	}
	if len(ranges) == 0 {
		return netip.Addr{}, fmt.Errorf("%w: the address pool %s has no %s range", ErrPoolFull, pool, fam)
	}
	// At most len(used)+1 addresses are looked at, however large the
	// ranges.
	for _, r := range ranges {
		for a := r.From; a.IsValid() && a.Compare(r.To) <= 0; a = a.Next() {
			if _, taken := used[a]; !taken {
				return a, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: every %s address of the pool %s is in use", ErrPoolFull, fam, pool)
}

func families(w Want) []corev1.IPFamily {
	if len(w.Families) == 0 {
		return []corev1.IPFamily{corev1.IPv4Protocol}
	}
	return w.Families
}

func familyNames(fams []corev1.IPFamily) []string {
	s := make([]string, len(fams))
	for i, f := range fams {
		s[i] = string(f)
	}
	return s
}

func familyOf(a netip.Addr) corev1.IPFamily {
	if a.Is4() {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

func sharesAddr(a, b []netip.Addr) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func sorted(a []netip.Addr) []netip.Addr {
	a = slices.Clone(a)
	slices.SortFunc(a, func(x, y netip.Addr) int { return x.Compare(y) })
	return slices.Compact(a)
}
