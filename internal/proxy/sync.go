package proxy

import (
	"maps"
	"slices"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// sync programs what changed since the last sync in one transaction, or
// rebuilds the whole table when asked to.
func (p *Proxier) sync() {
	start, cpu := time.Now(), processCPU()
	p.mu.Lock()
	dirty, full := p.dirty, p.needFull
	p.dirty, p.needFull = map[string]time.Time{}, false
	cfg := p.config()
	p.mu.Unlock()

	if full {
		// Every service, and every one applied before (it may be gone).
		all, err := p.services.List(labels.Everything())
		if err != nil {
			p.opts.Log.Error("list services", "err", err)
		}
		for _, s := range all {
			key := s.Namespace + "/" + s.Name
			if _, ok := dirty[key]; !ok {
				dirty[key] = time.Time{}
			}
		}
		for key := range p.applied {
			if _, ok := dirty[key]; !ok {
				dirty[key] = time.Time{}
			}
		}
	}
	desired := make(map[string]*Ruleset, len(dirty))
	snaps := make(map[string]*Service, len(dirty))
	for key := range dirty {
		s := p.snapshot(key)
		snaps[key] = s
		if s != nil {
			desired[key] = Compute(s, cfg)
		}
	}

	var err error
	if full {
		base := Base(cfg)
		all := []*Ruleset{base}
		applied := map[string]*Ruleset{}
		for key, rs := range p.applied {
			if _, ok := dirty[key]; !ok {
				applied[key], all = rs, append(all, rs)
			}
		}
		for key, rs := range desired {
			applied[key], all = rs, append(all, rs)
		}
		if err = p.applier.Rebuild(all); err == nil {
			p.base, p.applied = base, applied
			p.metrics.fullSyncs.Inc()
		}
	} else {
		var changes []*Change
		for _, key := range slices.Sorted(maps.Keys(dirty)) {
			if c := Diff(p.applied[key], desired[key]); !c.Empty() {
				changes = append(changes, c)
			}
		}
		if len(changes) > 0 {
			err = p.applier.Apply(changes)
		}
		if err == nil {
			for key := range dirty {
				if rs := desired[key]; rs != nil {
					p.applied[key] = rs
				} else {
					delete(p.applied, key)
				}
			}
		}
	}
	done := time.Now()
	p.metrics.syncDuration.Observe(done.Sub(start).Seconds())
	if err != nil {
		p.metrics.syncErrors.Inc()
		p.opts.Log.Error("sync failed; rebuilding the table next", "err", err, "services", len(dirty))
		p.mu.Lock()
		for key, at := range dirty {
			if t, ok := p.dirty[key]; !ok || (!at.IsZero() && at.Before(t)) {
				p.dirty[key] = at
			}
		}
		p.needFull = true
		p.mu.Unlock()
		time.AfterFunc(time.Second, p.signal) // not a hot loop against a kernel that refuses
		return
	}
	p.metrics.lastSync.Set(float64(done.Unix()))
	var slowest time.Duration
	for _, at := range dirty {
		if !at.IsZero() {
			p.metrics.programLatency.Observe(done.Sub(at).Seconds())
			slowest = max(slowest, done.Sub(at))
		}
	}
	if slowest > slowProgramming && !full {
		// The change waited before this sync began: for the sync loop
		// (busy with an earlier sync), or in the watch before it.
		p.opts.Log.Info("slow to program a change", "latency", slowest, "sync", done.Sub(start), "services", len(dirty))
	}
	p.mu.Lock()
	pending := len(p.dirty) > 0 || p.needFull
	p.mu.Unlock()
	p.health.synced(done, pending)
	p.flushStaleUDP(dirty, snaps)
	p.updateHealthChecks(dirty, snaps)
	if full {
		// cpu is the whole process's, the sync's nearly all of it (the
		// informers are quiet then): wall time alone says little on a
		// busy machine.
		p.opts.Log.Info("full sync", "services", len(dirty), "took", done.Sub(start), "cpu", (processCPU() - cpu).Round(time.Millisecond))
	} else {
		p.opts.Log.Debug("synced", "services", len(dirty), "took", done.Sub(start))
	}
}

// slowProgramming is a change's latency worth a line in the log.
const slowProgramming = 100 * time.Millisecond

// config is Compute's input; p.mu is held.
func (p *Proxier) config() Config {
	cidrs := p.opts.ClusterCIDRs
	if len(cidrs) == 0 {
		cidrs = p.nodeCIDRs
	}
	return Config{ClusterCIDRs: cidrs, ServiceCIDRs: p.opts.ServiceCIDRs, MasqueradeBit: p.opts.MasqueradeBit, NodeIPs: p.nodeIPs}
}

// snapshot is the service at key with its slices, or nil if it is gone.
func (p *Proxier) snapshot(key string) *Service {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := p.services.Services(ns).Get(name)
	if errors.IsNotFound(err) || err != nil {
		return nil
	}
	objs, _ := p.slices.ByIndex(sliceByService, key)
	sl := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			sl = append(sl, s)
		}
	}
	// Slices in a stable order: the first slice naming an endpoint wins.
	slices.SortFunc(sl, func(a, b *discoveryv1.EndpointSlice) int { return cmpString(a.Name, b.Name) })
	return snapshotOf(svc, sl, p.opts.NodeName)
}

func (p *Proxier) flushStaleUDP(dirty map[string]time.Time, snaps map[string]*Service) {
	var filters []netlink.CustomConntrackFilter
	for key := range dirty {
		filters = append(filters, staleUDP(p.snapshots[key], snaps[key])...)
		if snaps[key] != nil {
			p.snapshots[key] = snaps[key]
		} else {
			delete(p.snapshots, key)
		}
	}
	if len(filters) == 0 {
		return
	}
	if _, err := p.nl.ConntrackDeleteFilters(netlink.ConntrackTable, netlink.FAMILY_V4, filters...); err != nil {
		p.opts.Log.Warn("flush conntrack entries of removed UDP endpoints", "err", err)
	}
}

func (p *Proxier) updateHealthChecks(dirty map[string]time.Time, snaps map[string]*Service) {
	changed := false
	for key := range dirty {
		if s := snaps[key]; s != nil && s.HealthCheckNodePort != 0 {
			changed = true
		}
	}
	if !changed && p.hc.count() == 0 {
		return
	}
	want := map[int32]*Service{}
	for _, s := range p.snapshots {
		if s.HealthCheckNodePort != 0 {
			want[s.HealthCheckNodePort] = s
		}
	}
	p.hc.update(want)
}

// processCPU is the process's CPU time so far, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
