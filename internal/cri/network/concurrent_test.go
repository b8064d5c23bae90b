package network

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Many sandboxes at once (the kubelet starts a node's pods together): each
// gets its own address and a working network.
func TestConcurrentSetup(t *testing.T) {
	n := newTestNode(t, nil)
	const count = 30
	sbs := make([]SandboxNet, count)
	for i := range sbs {
		sbs[i] = SandboxNet{ID: fmt.Sprintf("c%02d", i), NetNS: newNetNS(t, n.dir, fmt.Sprintf("c%02d", i)),
			PortMappings: []PortMapping{{ContainerPort: 80, HostPort: int32(10000 + i)}}}
	}
	results := make([]Result, count)
	took := make([]time.Duration, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range sbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			results[i], errs[i] = n.mgr.Setup(context.Background(), sbs[i])
			took[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	slices.Sort(took)
	t.Logf("%d concurrent Setups took %v (each: p50 %v, max %v)", count, time.Since(start), took[count/2], took[count-1])
	t.Cleanup(func() {
		for _, sb := range sbs {
			if err := n.mgr.Teardown(context.Background(), sb); err != nil {
				t.Error(err)
			}
		}
	})
	seen := map[string]string{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Setup %s: %v", sbs[i].ID, err)
		}
		ip := results[i].IPs[0].String()
		if other, dup := seen[ip]; dup {
			t.Fatalf("%s given to %s and %s", ip, other, sbs[i].ID)
		}
		seen[ip] = sbs[i].ID
	}
	l := serveTCP(t, n.ns, nodeIP+":0")
	for i, sb := range sbs {
		if got, err := whoAmI(t, sb.NetNS, l.Addr().String()); err != nil || got != results[i].IPs[0].String() {
			t.Errorf("%s: connect to the node: %q, %v", sb.ID, got, err)
		}
	}
	start = time.Now()
	for i, sb := range sbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.mgr.Teardown(context.Background(), sb)
		}()
	}
	wg.Wait()
	t.Logf("%d concurrent Teardowns took %v", count, time.Since(start))
	for i, err := range errs {
		if err != nil {
			t.Errorf("Teardown %s: %v", sbs[i].ID, err)
		}
		n.assertNoTrace(t, sbs[i].ID, results[i].IPs[0])
	}
	if rules := nftList(t, n.ns); strings.Contains(rules, "sandbox c") {
		t.Errorf("rules left after teardown:\n%s", rules)
	}
}
