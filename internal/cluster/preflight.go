package cluster

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Listener is an address a component of this process will serve on:
// Network "tcp" (Address host:port, host empty for every address) or
// "unix" (Address a socket path).
type Listener struct {
	Component string
	Network   string
	Address   string
}

// ServerListeners are what `kemudi server` listens on: the API and, when
// it runs the node, the node's (agent nil: --disable-agent).
func ServerListeners(o ServerOptions, agent *AgentOptions) []Listener {
	var ls []Listener
	if o.Port != 0 {
		ls = append(ls, Listener{"API server", "tcp", net.JoinHostPort(o.BindAddress, strconv.Itoa(o.Port))})
	}
	if agent != nil {
		ls = append(ls, AgentListeners(*agent)...)
	}
	return ls
}

// AgentListeners are a node's: the kubelet's API, the proxy's health
// port and the runtime's CRI socket. (The node's DNS server binds port 53
// on the node's address only once the node is registered, and is
// restarted rather than fatal: it is not checked.)
func AgentListeners(o AgentOptions) []Listener {
	var ls []Listener
	if o.Kubelet.Port != 0 {
		ls = append(ls, Listener{"kubelet", "tcp", net.JoinHostPort("", strconv.Itoa(int(o.Kubelet.Port)))})
	}
	if !o.Services.DisableProxy && o.Services.Proxy.HealthzBindAddress != "" && o.Services.Proxy.NetNSPath == "" {
		ls = append(ls, Listener{"proxy health", "tcp", o.Services.Proxy.HealthzBindAddress})
	}
	if !o.ExternalRuntime && o.Socket != "" {
		ls = append(ls, Listener{"container runtime (CRI)", "unix", o.Socket})
	}
	return ls
}

// CheckListeners tries every listener before anything starts, so that a
// taken port stops the process at once with every conflict named, not
// after etcd and half the components started. A unix socket is taken
// when something answers on it (a stale file is not: the runtime removes
// it).
func CheckListeners(ls []Listener) error {
	var taken []string
	for _, l := range ls {
		if err := tryListen(l); err != nil {
			taken = append(taken, err.Error())
		}
	}
	if len(taken) == 0 {
		return nil
	}
	return fmt.Errorf("nothing started: %s", strings.Join(taken, "; "))
}

func tryListen(l Listener) error {
	if l.Network == "unix" {
		c, err := net.DialTimeout("unix", l.Address, time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		return fmt.Errorf("%s socket %s is served by another process (is kemudi already running?)", l.Component, l.Address)
	}
	ln, err := net.Listen(l.Network, l.Address)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("port %s (%s) is in use%s: %w", port(l.Address), l.Component, holderOf(l.Address), err)
		}
		return fmt.Errorf("%s cannot listen on %s: %w", l.Component, l.Address, err)
	}
	ln.Close()
	return nil
}

func port(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return p
}

// ErrNodeNeedsRoot: a node's runtime makes network namespaces, mounts,
// cgroups and nftables rules; without root it would fail only after the
// control plane had started.
var ErrNodeNeedsRoot = errors.New("a node (its container runtime and kubelet) needs root")

// CheckNodePrivileges refuses to run a node as a user other than root
// (euid, os.Geteuid()).
func CheckNodePrivileges(euid int) error {
	if euid != 0 {
		return fmt.Errorf("%w: run as root (uid %d now)", ErrNodeNeedsRoot, euid)
	}
	return nil
}
