package cri

import (
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// defaultCapabilities is containerd's (and Docker's) default set.
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCapabilities is every capability Linux 6.x knows, in number order.
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// capName accepts "NET_ADMIN", "net_admin" and "CAP_NET_ADMIN".
func capName(s string) string {
	s = strings.ToUpper(s)
	if !strings.HasPrefix(s, "CAP_") {
		s = "CAP_" + s
	}
	return s
}

// capabilities is the default set (all of host's when privileged; host
// nil is every capability known), with the
// CRI's additions and then its removals; "ALL" works on either side as in
// containerd.
func capabilities(sc *runtimeapi.LinuxContainerSecurityContext, host []string) *specs.LinuxCapabilities {
	all := host
	if all == nil {
		all = allCapabilities
	}
	base := defaultCapabilities
	if sc.GetPrivileged() {
		base = all
	}
	set := map[string]bool{}
	for _, c := range base {
		set[c] = true
	}
	add, drop := sc.GetCapabilities().GetAddCapabilities(), sc.GetCapabilities().GetDropCapabilities()
	for _, c := range drop {
		if strings.EqualFold(c, "ALL") {
			clear(set)
		}
	}
	for _, c := range add {
		if strings.EqualFold(c, "ALL") {
			for _, a := range all {
				set[a] = true
			}
			continue
		}
		set[capName(c)] = true
	}
	for _, c := range drop {
		if !strings.EqualFold(c, "ALL") {
			delete(set, capName(c))
		}
	}
	list := orderedCaps(set)
	caps := &specs.LinuxCapabilities{Bounding: list, Effective: list, Permitted: list}
	if amb := sc.GetCapabilities().GetAddAmbientCapabilities(); len(amb) > 0 {
		a := map[string]bool{}
		for _, c := range amb {
			a[capName(c)] = true
		}
		caps.Ambient = orderedCaps(a)
		caps.Inheritable = caps.Ambient // ambient capabilities must be inheritable
	}
	return caps
}

// hostCapabilities are the capabilities of allCapabilities in this
// process's bounding set: "all" for a privileged container, as containerd
// does, since one the runtime lacks cannot be given (on a machine that is
// itself a container, CAP_SYS_RESOURCE may be missing, say).
func hostCapabilities() []string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return allCapabilities
	}
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return allCapabilities
		}
		var out []string
		for i, c := range allCapabilities {
			if mask&(1<<i) != 0 {
				out = append(out, c)
			}
		}
		return out
	}
	return allCapabilities
}

// orderedCaps lists known capabilities in number order, then unknown ones
// as given (libcontainer reports those it cannot use).
func orderedCaps(set map[string]bool) []string {
	out := []string{}
	for _, c := range allCapabilities {
		if set[c] {
			out = append(out, c)
			delete(set, c)
		}
	}
	for c := range set {
		out = append(out, c)
	}
	return out
}
