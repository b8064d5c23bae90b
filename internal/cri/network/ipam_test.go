package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestAllocatorHandsOutEachAddressOnce(t *testing.T) {
	dir := t.TempDir()
	subnet := mustCIDR(t, "10.9.0.0/29") // .1 gateway, .2-.6 pods, .7 broadcast
	a, err := newAllocator(dir, subnet)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 5 {
		ip, err := a.Allocate(fmt.Sprintf("sb%d", i))
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		got = append(got, ip.String())
	}
	want := []string{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	if _, err := a.Allocate("one-too-many"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("allocation beyond the range: err = %v, want ErrExhausted", err)
	} else if want := "allocate address in 10.9.0.0/29 for one-too-many: no free address (all 5 taken)"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}

	// A restart finds every reservation; a sandbox asking again keeps its
	// address.
	a2, err := newAllocator(dir, subnet)
	if err != nil {
		t.Fatal(err)
	}
	if ip, err := a2.Allocate("sb3"); err != nil || ip.String() != "10.9.0.5" {
		t.Fatalf("sb3 again after restart = %v, %v; want 10.9.0.5", ip, err)
	}
	if _, err := a2.Allocate("new"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("after restart: err = %v, want ErrExhausted", err)
	}
	if err := a2.Release("sb1"); err != nil {
		t.Fatal(err)
	}
	if err := a2.Release("sb1"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if ip, err := a2.Allocate("new"); err != nil || ip.String() != "10.9.0.3" {
		t.Fatalf("after release = %v, %v; want the freed 10.9.0.3", ip, err)
	}
}

func TestAllocatorReusesReleasedAddressesLast(t *testing.T) {
	dir := t.TempDir()
	subnet := mustCIDR(t, "10.9.0.0/28") // .2-.14
	a, _ := newAllocator(dir, subnet)
	first, _ := a.Allocate("a")
	if _, err := a.Allocate("b"); err != nil {
		t.Fatal(err)
	}
	if err := a.Release("a"); err != nil {
		t.Fatal(err)
	}
	// Restarted, it continues after the last address it gave, not at the
	// freed one: a late packet for the old pod does not reach a new one.
	a, _ = newAllocator(dir, subnet)
	for i := range 11 {
		ip, err := a.Allocate(fmt.Sprintf("n%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if ip.Equal(first) {
			t.Fatalf("allocation %d reused released %s while others were free", i, ip)
		}
	}
	if ip, err := a.Allocate("last"); err != nil || !ip.Equal(first) {
		t.Fatalf("last free address = %v, %v; want %s", ip, err, first)
	}
}

func TestAllocatorConcurrentOwnersNeverShare(t *testing.T) {
	dir := t.TempDir()
	subnet := mustCIDR(t, "10.9.0.0/26") // 61 addresses
	// Two allocators on one directory stand for two processes.
	a1, _ := newAllocator(dir, subnet)
	a2, _ := newAllocator(dir, subnet)
	var mu sync.Mutex
	owner := map[string]string{}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := a1
			if i%2 == 1 {
				a = a2
			}
			id := fmt.Sprintf("sb%d", i)
			ip, err := a.Allocate(id)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, ok := owner[ip.String()]; ok {
				t.Errorf("%s given to %s and %s", ip, prev, id)
			}
			owner[ip.String()] = id
		}()
	}
	wg.Wait()
}

func TestAllocatorIgnoresStrayFiles(t *testing.T) {
	dir := t.TempDir()
	subnet := mustCIDR(t, "10.9.0.0/30") // one pod address: .2
	a, _ := newAllocator(dir, subnet)
	// A crash while writing last_reserved leaves a temporary file behind.
	if err := os.WriteFile(filepath.Join(a.dir, ".last_reserved.tmp123"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ip, err := a.Allocate("x"); err != nil || ip.String() != "10.9.0.2" {
		t.Fatalf("Allocate = %v, %v", ip, err)
	}
	if _, err := a.Allocate("y"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("second allocation in a /30: %v, want ErrExhausted", err)
	}
}

func TestAllocatorIPv6(t *testing.T) {
	dir := t.TempDir()
	small := mustCIDR(t, "fd00:9::/125") // ::1 gateway, ::2-::6 pods, ::7 kept like IPv4's broadcast
	a, err := newAllocator(dir, small)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 5 {
		ip, err := a.Allocate(fmt.Sprintf("sb%d", i))
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		got = append(got, ip.String())
	}
	if want := "[fd00:9::2 fd00:9::3 fd00:9::4 fd00:9::5 fd00:9::6]"; fmt.Sprint(got) != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	if _, err := a.Allocate("more"); !errors.Is(err, ErrExhausted) {
		t.Fatalf("beyond the range: %v, want ErrExhausted", err)
	}

	big, err := newAllocator(dir, mustCIDR(t, "fd00:42::/64"))
	if err != nil {
		t.Fatal(err)
	}
	x, err1 := big.Allocate("x")
	y, err2 := big.Allocate("y")
	if err1 != nil || err2 != nil || x.Equal(y) || x.String() != "fd00:42::2" {
		t.Fatalf("in a /64: %v %v, %v %v", x, err1, y, err2)
	}
}
