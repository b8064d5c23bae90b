package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
)

// Reconcile undoes the network of every sandbox not in live: what a crash
// left (records, addresses, veths on the bridge, hostPort rules), found
// from the state on disk and from the node's namespace itself.
func (m *Manager) Reconcile(ctx context.Context, live []string) error {
	alive := make(map[string]bool, len(live))
	for _, id := range live {
		alive[id] = true
	}
	var errs []error
	ids, err := m.records.ids()
	errs = append(errs, err)
	for _, id := range ids {
		if alive[id] {
			continue
		}
		rec, ok, err := m.records.get(id)
		if !ok {
			if err == nil {
				continue // removed meanwhile
			}
			// Unreadable (torn by a machine crash): undo by ID alone.
			m.log.Warn("unreadable sandbox record", "sandbox", id, "err", err)
			rec = record{ID: id, Mode: modeBuiltin}
		}
		m.log.Info("releasing network of a sandbox that is gone", "sandbox", id)
		errs = append(errs, m.teardown(ctx, rec))
	}
	errs = append(errs, m.releaseAddresses(alive))
	errs = append(errs, m.removeVeths(alive))
	errs = append(errs, m.nft.removeSandboxes(func(id string) bool { return !alive[id] }))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reconcile network: %w", err)
	}
	return nil
}

// releaseAddresses frees reservations of every pool held by sandboxes not
// alive, including those reserved by a Setup that crashed before recording.
func (m *Manager) releaseAddresses(alive map[string]bool) error {
	dir := filepath.Join(m.opts.StateDir, "ipam")
	pools, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ipam pools: %w", err)
	}
	var errs []error
	for _, p := range pools {
		subnet, err := parsePodCIDR(strings.ReplaceAll(p.Name(), "_", "/"))
		if err != nil {
			continue
		}
		alloc, err := m.allocator(subnet)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		owners, err := alloc.Owners()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for ip, owner := range owners {
			if !alive[owner] {
				m.log.Info("releasing address of a sandbox that is gone", "sandbox", owner, "ip", ip)
				errs = append(errs, alloc.Release(owner))
			}
		}
	}
	return errors.Join(errs...)
}

// removeVeths deletes host ends named like kemudi's that belong to no live
// sandbox and sit on kemudi's bridge or on none (a crash between creating
// and attaching).
func (m *Manager) removeVeths(alive map[string]bool) error {
	h, err := netlink.NewHandleAt(m.hostNS)
	if err != nil {
		return fmt.Errorf("netlink in node netns: %w", err)
	}
	defer h.Delete()
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	bridgeIndex := -1
	for _, l := range links {
		if l.Attrs().Name == m.opts.Bridge {
			bridgeIndex = l.Attrs().Index
		}
	}
	keep := make(map[string]bool, len(alive))
	for id := range alive {
		keep[vethName(id)] = true
	}
	var errs []error
	for _, l := range links {
		a := l.Attrs()
		if l.Type() != "veth" || !isVethName(a.Name) || keep[a.Name] {
			continue
		}
		if a.MasterIndex != 0 && a.MasterIndex != bridgeIndex {
			continue
		}
		m.log.Info("removing veth of a sandbox that is gone", "veth", a.Name)
		errs = append(errs, deleteLink(h, a.Name))
	}
	return errors.Join(errs...)
}
