package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Routing table and rule priorities the proxy owns. Forwarded packets for
// the service range that no rule translated meet an unreachable route, so
// they never leave the node. The node's own packets look up the main table
// first: their route is looked up before the output hook translates them,
// so an unreachable route there would refuse every local connection to a
// cluster IP; their untranslated leftovers are rejected by filter-output.
const (
	routeTable        = 0x6b70 // "kp"
	rulePriorityLocal = 30000
	rulePriorityAll   = 30001
)

// ensureServiceRoutes installs, idempotently, the rules and routes above.
func ensureServiceRoutes(h *netlink.Handle, cidrs []netip.Prefix) error {
	for _, p := range cidrs {
		if !p.Addr().Is4() {
			continue
		}
		dst := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
		route := &netlink.Route{Dst: dst, Table: routeTable, Type: unix.RTN_UNREACHABLE}
		if err := h.RouteReplace(route); err != nil {
			return fmt.Errorf("route %s unreachable: %w", p, err)
		}
		local := netlink.NewRule()
		local.Dst, local.IifName, local.Table, local.Priority = dst, "lo", unix.RT_TABLE_MAIN, rulePriorityLocal
		all := netlink.NewRule()
		all.Dst, all.Table, all.Priority = dst, routeTable, rulePriorityAll
		for _, r := range []*netlink.Rule{local, all} {
			if err := h.RuleAdd(r); err != nil && !errors.Is(err, syscall.EEXIST) {
				return fmt.Errorf("ip rule to %s table %d: %w", p, r.Table, err)
			}
		}
	}
	return nil
}
