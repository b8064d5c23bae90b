package nodeipam

import (
	"net/netip"
	"testing"
)

func TestCIDRSetAllocatesInOrderAndSkipsOccupied(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("10.42.0.0/16"), 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.occupy(netip.MustParsePrefix("10.42.1.0/24")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 3; i++ {
		p, err := s.allocate()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.String())
	}
	want := []string{"10.42.0.0/24", "10.42.2.0/24", "10.42.3.0/24"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	// A released prefix is not handed out again before the others.
	if err := s.release(netip.MustParsePrefix("10.42.0.0/24")); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.allocate(); p.String() != "10.42.4.0/24" {
		t.Errorf("after release got %s, want 10.42.4.0/24", p)
	}
}

func TestCIDRSetFull(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("10.0.0.0/30"), 31)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.allocate(); err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
	}
	if _, err := s.allocate(); err != errCIDRFull {
		t.Errorf("third allocation err = %v, want full", err)
	}
	if err := s.release(netip.MustParsePrefix("10.0.0.2/31")); err != nil {
		t.Fatal(err)
	}
	if p, err := s.allocate(); err != nil || p.String() != "10.0.0.2/31" {
		t.Errorf("after release got %s, %v", p, err)
	}
}

func TestCIDRSetIPv6AndBadInput(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("fd00:42::/56"), 64)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.allocate()
	if err != nil || p.String() != "fd00:42::/64" {
		t.Fatalf("got %s, %v", p, err)
	}
	if p, _ := s.allocate(); p.String() != "fd00:42:0:1::/64" {
		t.Errorf("second = %s", p)
	}
	for _, bad := range []string{"10.42.0.0/24", "fd01::/64"} {
		if err := s.occupy(netip.MustParsePrefix(bad)); err == nil {
			t.Errorf("occupy(%s) accepted", bad)
		}
	}
	if _, err := newCIDRSet(netip.MustParsePrefix("10.0.0.0/8"), 28); err == nil {
		t.Error("a 20-bit spread was accepted")
	}
	if _, err := newCIDRSet(netip.MustParsePrefix("10.0.0.0/24"), 16); err == nil {
		t.Error("a node prefix wider than the cluster was accepted")
	}
}

func TestCIDRSetOccupyWiderPrefix(t *testing.T) {
	s, _ := newCIDRSet(netip.MustParsePrefix("10.42.0.0/16"), 24)
	if err := s.occupy(netip.MustParsePrefix("10.42.0.0/23")); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.allocate(); p.String() != "10.42.2.0/24" {
		t.Errorf("got %s, want 10.42.2.0/24", p)
	}
}
