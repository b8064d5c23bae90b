package proxy

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
)

// BenchmarkScale programs KEMUDI_BENCH_PROXY_SERVICES (1,000) services of
// ten endpoints each into a network namespace it makes: one full rebuild,
// then single endpoint changes applied as partial syncs. It reports wall
// time and the process's CPU (user+sys: sys is mostly the kernel's commit)
// of each, without the API server of bench/proxybench.
func BenchmarkScale(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: a network namespace")
	}
	n := 1000
	if v := os.Getenv("KEMUDI_BENCH_PROXY_SERVICES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	a := benchApplier(b)
	cfg := Config{ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")},
		ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("10.43.0.0/16")}, MasqueradeBit: 0x4000}
	svcs := make([]*Service, n)
	for i := range svcs {
		svcs[i] = scaleService(i, 10)
		if i%100 == 1 {
			svcs[i].AffinityTimeout = time.Hour // some affinity sets too
		}
	}
	for b.Loop() {
		u0, s0 := rusage()
		start := time.Now()
		all := []*Ruleset{Base(cfg)}
		for _, s := range svcs {
			all = append(all, Compute(s, cfg))
		}
		computed := time.Since(start)
		if err := a.Rebuild(all); err != nil {
			b.Fatal(err)
		}
		full := time.Since(start)
		objects := len(a.sharedSets()) + a.slots.maps()
		for _, rs := range all {
			objects += rs.objects()
		}
		if ok, err := a.Present(objects); err != nil || !ok {
			t, _ := a.query.ListTableOfFamily(TableName, nftables.TableFamilyIPv4)
			b.Fatalf("the table does not hold the %d objects applied: %v (use %d)", objects, err, t.Use)
		}
		u1, s1 := rusage()
		b.Logf("full sync of %d services: %v (compute %v); CPU user %v sys %v", n, full.Round(time.Millisecond),
			computed.Round(time.Millisecond), (u1 - u0).Round(time.Millisecond), (s1 - s0).Round(time.Millisecond))
		b.ReportMetric(full.Seconds(), "fullsync-s")

		var worst, total time.Duration
		const changes = 20
		for i := range changes {
			s := svcs[(i*7919)%n]
			old := all[1+(i*7919)%n]
			c := *s
			c.Endpoints = map[string][]Endpoint{"http": append(append([]Endpoint(nil), s.Endpoints["http"]...),
				Endpoint{Addr: netip.AddrFrom4([4]byte{10, 44, 0, byte(i)}), Port: 8080, Ready: true, Serving: true})}
			t0 := time.Now()
			rs := Compute(&c, cfg)
			if err := a.Apply([]*Change{Diff(old, rs)}); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0)
			worst, total = max(worst, d), total+d
			all[1+(i*7919)%n] = rs
			svcs[(i*7919)%n] = &c
		}
		u2, s2 := rusage()
		b.Logf("one endpoint change: mean %v max %v; CPU per change user %v sys %v", (total / changes).Round(10*time.Microsecond),
			worst.Round(10*time.Microsecond), ((u2 - u1) / changes).Round(10*time.Microsecond), ((s2 - s1) / changes).Round(10*time.Microsecond))
		b.ReportMetric(float64(worst.Microseconds())/1000, "change-max-ms")
		if os.Getenv("KEMUDI_BENCH_PROXY_PROBE") != "" {
			probe(b, a)
		}
	}
}

func scaleService(i, eps int) *Service {
	s := &Service{Namespace: "default", Name: fmt.Sprintf("svc-%d", i),
		ClusterIP: netip.AddrFrom4([4]byte{10, 43, byte(i >> 8), byte(i)}),
		Ports:     []ServicePort{{Name: "http", Protocol: protoTCP, Port: 80}},
		Endpoints: map[string][]Endpoint{}}
	for e := range eps {
		k := i*eps + e
		s.Endpoints["http"] = append(s.Endpoints["http"], Endpoint{Addr: netip.AddrFrom4([4]byte{10, byte(42 + k>>16), byte(k >> 8), byte(k)}),
			Port: 8080, Ready: true, Serving: true})
	}
	return s
}

func benchApplier(b *testing.B) *applier {
	buf := make([]byte, 3)
	_, _ = rand.Read(buf)
	name := "kpscale" + hex.EncodeToString(buf)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		b.Fatalf("ip netns add: %v %s", err, out)
	}
	b.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	h, err := netns.GetFromName(name)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	conn, err := nftables.New(nftables.AsLasting(), nftables.WithNetNSFd(int(h)), nftables.WithSockOptions(bigBuffers))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.CloseLasting() })
	a, err := newApplier(conn, int(h))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	return a
}

func rusage() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// probe times commits that do and do not make the kernel validate the table.
func probe(b *testing.B, a *applier) {
	t := &a.txn
	timeIt := func(what string, f func()) {
		u0, s0 := rusage()
		t0 := time.Now()
		for range 10 {
			a.batch.begin(t)
			f()
			if err := a.batch.send(t); err != nil {
				b.Fatal(what, err)
			}
		}
		u1, s1 := rusage()
		b.Logf("%s: %v each, user %v sys %v", what, time.Since(t0)/10, (u1-u0)/10, (s1-s0)/10)
	}
	i := 0
	element := func(v Verdict) {
		i++
		t.elems(elemAdd, mapServiceIPs, 0)
		key, n := elemKey(ElemKey{Addr: netip.AddrFrom4([4]byte{10, 45, byte(i >> 8), byte(i)}), Proto: 6, Port: 80})
		t.elem(key[:n], false, nil, &v)
	}
	timeIt("empty set add+del (no validation)", func() {
		i++
		t.newSet(&nftables.Set{Name: fmt.Sprintf("probe%d", i), KeyType: nftables.TypeIPAddr}, 0)
	})
	timeIt("goto element add (validation)", func() { element(gotoChain(chainReject)) })
	timeIt("drop element add", func() { element(Verdict{Kind: "drop"}) })
	timeIt("empty chain add", func() {
		i++
		t.newChain(fmt.Sprintf("probe-chain%d", i))
	})
}
