package proxy

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

// The ranges of n endpoints cover every slot once and differ by at most
// one slot: upstream's even split.
func TestSlotSplit(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 11, 1000, slotsPerChain} {
		lo, hi := uint32(slotsPerChain), uint32(0)
		for i := range n {
			size := slotSplit(i+1, n) - slotSplit(i, n)
			lo, hi = min(lo, size), max(hi, size)
		}
		if slotSplit(0, n) != 0 || slotSplit(n, n) != slotsPerChain || hi-lo > 1 || lo == 0 {
			t.Errorf("%d endpoints: ranges of %d to %d slots, from %d to %d", n, lo, hi, slotSplit(0, n), slotSplit(n, n))
		}
	}
}

func TestSlotAllocator(t *testing.T) {
	s := newSlotAllocator()
	a, newMap := s.get("a")
	if !newMap || a.mapName() != "endpoints-0" || a.base() != 0 {
		t.Fatalf("first range: %+v new map %v", a, newMap)
	}
	b, _ := s.get("b")
	s.commit()
	if b.base() != 1<<slotBits || b.key(slotsPerChain) >= (slotRange{id: 2}).base() {
		t.Errorf("second range at %#x, its last key %#x", b.base(), b.key(slotsPerChain))
	}

	// A range freed in a transaction is not given again in it.
	s.release("a")
	if c, _ := s.get("c"); c.id == a.id {
		t.Errorf("a's range given to c in the transaction that freed it")
	}
	s.commit()
	if d, _ := s.get("d"); d.id != a.id {
		t.Errorf("a's freed range not reused: d got %d", d.id)
	}
	s.commit()

	// A refused transaction gives back its ranges and maps.
	before := s.maps()
	for i := range slotsPerMap {
		s.get(fmt.Sprint("chain", i))
	}
	s.release("b")
	if s.maps() == before {
		t.Fatalf("%d more chains made no new map", slotsPerMap)
	}
	s.abort()
	if s.maps() != before || len(s.byChain) != 3 {
		t.Errorf("after abort: %d maps (want %d), chains %v", s.maps(), before, slices.Sorted(maps.Keys(s.byChain)))
	}
	if _, ok := s.byChain["b"]; !ok {
		t.Errorf("b's range freed by a refused transaction")
	}
}
