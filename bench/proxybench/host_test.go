package proxybench

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// hostFiles are the host-wide settings kube-proxy writes unless told
// not to (conntrack's table and hash sizes and timeouts), and those
// other modes write (route_localnet, forwarding): read in the host's
// namespace before and after it runs.
var hostFiles = []string{
	"/proc/sys/net/netfilter/nf_conntrack_max",
	"/sys/module/nf_conntrack/parameters/hashsize",
	"/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established",
	"/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait",
	"/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal",
	"/proc/sys/net/netfilter/nf_conntrack_udp_timeout",
	"/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream",
	"/proc/sys/net/ipv4/conf/all/route_localnet",
	"/proc/sys/net/ipv4/ip_forward",
}

// hostState is the host's nftables ruleset and hostFiles' values.
type hostState struct {
	ruleset string
	files   map[string]string
}

func readHost(b *testing.B) hostState {
	out, err := exec.Command("nft", "list", "ruleset").Output()
	if err != nil {
		b.Fatalf("nft list ruleset: %v", err)
	}
	h := hostState{ruleset: string(out), files: map[string]string{}}
	for _, f := range hostFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			h.files[f] = "(" + err.Error() + ")"
			continue
		}
		h.files[f] = strings.TrimSpace(string(data))
	}
	return h
}

// hostCheck compares the host's state before and after a run.
type hostCheck struct {
	ran           bool
	before, after hostState
}

func (h hostState) compare(after hostState) hostCheck {
	return hostCheck{ran: true, before: h, after: after}
}

func (c hostCheck) same() bool {
	return c.before.ruleset == c.after.ruleset && maps.Equal(c.before.files, c.after.files)
}

func (c hostCheck) String() string {
	var s strings.Builder
	if c.before.ruleset == c.after.ruleset {
		fmt.Fprintf(&s, "host nftables ruleset unchanged by kube-proxy's run (%d lines)\n", strings.Count(c.before.ruleset, "\n"))
	} else {
		fmt.Fprintf(&s, "HOST NFTABLES RULESET CHANGED during kube-proxy's run:\nbefore:\n%s\nafter:\n%s\n", c.before.ruleset, c.after.ruleset)
	}
	var changed []string
	for _, f := range slices.Sorted(maps.Keys(c.before.files)) {
		if c.before.files[f] != c.after.files[f] {
			changed = append(changed, fmt.Sprintf("%s %s → %s", f, c.before.files[f], c.after.files[f]))
		}
	}
	if len(changed) == 0 {
		fmt.Fprintf(&s, "host conntrack and forwarding settings unchanged (%d read)", len(c.before.files))
	} else {
		fmt.Fprintf(&s, "HOST SETTINGS CHANGED: %s", strings.Join(changed, "; "))
	}
	return s.String()
}
