package proxy

import "fmt"

// Load-balancing chains keep their endpoints (a range of slots → address
// . port) in a few shared interval maps, slotsPerMap chains to a map, each
// chain in a range of keys of its own: its rule is "dnat ip to numgen
// random mod 65535 offset BASE map @endpoints-G" (the key in network
// order, as intervals compare bytes). Why neither a map per chain nor
// one map:
//   - the kernel finds a set by name in a list (nft_set_lookup_global) on
//     every set, rule and element message naming one: with a map per
//     chain a full sync at 10,000 services was three quarters name
//     comparisons (an anonymous map per rule is in the same list, and its
//     binding walks the whole transaction besides);
//   - the kernel checks every element of a data map against every rule
//     bound to it, when a rule binds and when an element comes: one map
//     for 10,000 chains cost 40 s of kernel time.
//
// With slotsPerMap chains a map, both costs stay small: a few hundred maps
// at 10,000 services, and each element checked against at most
// slotsPerMap rules.
const (
	slotsPerMap = 64
	slotBits    = 16
	// slotsPerChain is numgen's modulus, one less than a chain's keys so
	// that the last range's end is not the next chain's first key. It is
	// also the most endpoints a chain has: far more than any service's
	// slices hold in practice.
	slotsPerChain = 1<<slotBits - 1
)

// slotSplit is where endpoint i of n starts: the ranges differ by at most
// one slot.
func slotSplit(i, n int) uint32 { return uint32(i * slotsPerChain / n) }

// slotRange is where a chain's slots live: a map and the first key.
type slotRange struct{ id int }

func (r slotRange) mapName() string { return fmt.Sprintf("endpoints-%d", r.id/slotsPerMap) }
func (r slotRange) base() uint32    { return uint32(r.id%slotsPerMap) << slotBits }

// key is the map key of the chain's slot i.
func (r slotRange) key(i uint32) uint32 { return r.base() | i }

// slotAllocator gives each load-balancing chain a range. Ranges freed in
// a transaction are reused only after it is committed, and the ranges it
// gave are taken back if the kernel refuses it.
type slotAllocator struct {
	byChain map[string]slotRange
	free    []int
	next    int // ranges 0..next-1 have been given; their maps exist
	// The open transaction's ranges given and freed, and next before it.
	given, freed []string
	nextBefore   int
}

func newSlotAllocator() *slotAllocator { return &slotAllocator{byChain: map[string]slotRange{}} }

// maps is the number of endpoint maps in the table.
func (s *slotAllocator) maps() int { return (s.next + slotsPerMap - 1) / slotsPerMap }

// get is the chain's range, given it if it has none; newMap reports the
// first use of a map, which must be created first.
func (s *slotAllocator) get(chain string) (r slotRange, newMap bool) {
	if r, ok := s.byChain[chain]; ok {
		return r, false
	}
	if n := len(s.free); n > 0 {
		r = slotRange{id: s.free[n-1]}
		s.free = s.free[:n-1]
	} else {
		r = slotRange{id: s.next}
		s.next++
		newMap = r.id%slotsPerMap == 0
	}
	s.byChain[chain] = r
	s.given = append(s.given, chain)
	return r, newMap
}

// release frees the chain's range when the transaction is committed.
func (s *slotAllocator) release(chain string) {
	if _, ok := s.byChain[chain]; ok {
		s.freed = append(s.freed, chain)
	}
}

// commit makes the transaction's frees count.
func (s *slotAllocator) commit() {
	for _, c := range s.freed {
		if r, ok := s.byChain[c]; ok {
			s.free = append(s.free, r.id)
			delete(s.byChain, c)
		}
	}
	s.given, s.freed = nil, nil
	s.nextBefore = s.next
}

// abort takes back the ranges the transaction gave, and the maps it made.
func (s *slotAllocator) abort() {
	for _, c := range s.given {
		if r, ok := s.byChain[c]; ok {
			if r.id < s.nextBefore {
				s.free = append(s.free, r.id)
			}
			delete(s.byChain, c)
		}
	}
	s.next = s.nextBefore
	s.given, s.freed = nil, nil
}
