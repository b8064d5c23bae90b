package proxy_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// testNet is a set of network namespaces the test made and removes.
type testNet struct {
	t      *testing.T
	prefix string
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: network namespaces")
	}
	for _, tool := range []string{"ip", "nsenter", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return &testNet{t: t, prefix: "kp" + hex.EncodeToString(b)}
}

func (n *testNet) name(s string) string { return n.prefix + s }

func nsPath(name string) string { return "/var/run/netns/" + name }

// add makes a namespace with loopback up, removed when the test ends.
func (n *testNet) add(s string) string {
	name := n.name(s)
	run(n.t, "ip", "netns", "add", name)
	n.t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	n.in(name, "ip", "link", "set", "lo", "up")
	return name
}

// in runs a command in namespace ns (nsenter keeps the host's /sys).
func (n *testNet) in(ns string, args ...string) string {
	n.t.Helper()
	return run(n.t, append([]string{"nsenter", "--net=" + nsPath(ns), "--"}, args...)...)
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// link joins ns to node with a veth: addr/len in ns, peer named host in
// node, attached to bridge br if set, else given hostAddr.
func (n *testNet) link(ns, node, host, addr, gw, br, hostAddr string) {
	n.in(ns, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", host, "netns", node)
	n.in(ns, "ip", "addr", "add", addr, "dev", "eth0")
	n.in(ns, "ip", "link", "set", "eth0", "up")
	n.in(ns, "ip", "route", "add", "default", "via", gw)
	if br != "" {
		n.in(node, "ip", "link", "set", host, "master", br)
	} else {
		n.in(node, "ip", "addr", "add", hostAddr, "dev", host)
	}
	n.in(node, "ip", "link", "set", host, "up")
}

// inNetns runs f on a thread inside the namespace: sockets made there
// belong to it.
func inNetns(ns string, f func() error) error {
	target, err := netns.GetFromPath(nsPath(ns))
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		return err
	}
	ferr := f()
	if err := netns.Set(orig); err != nil {
		runtime.LockOSThread() // leave the thread locked: the runtime discards it
		return err
	}
	return ferr
}

// serve starts TCP and UDP servers on addr in ns answering "NAME CLIENT".
func serve(t *testing.T, ns, name, addr string) {
	t.Helper()
	var l net.Listener
	var pc net.PacketConn
	err := inNetns(ns, func() error {
		var err error
		if l, err = net.Listen("tcp", addr); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("serve in %s: %v", ns, err)
	}
	t.Cleanup(func() { l.Close(); pc.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s\n", name, c.RemoteAddr())
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(fmt.Sprintf("%s %s\n", name, from)), from)
		}
	}()
}

// ask connects from ns to addr over network and returns the answer's
// fields: the endpoint's name and the client address it saw.
func ask(ns, network, addr string) (endpoint, client string, err error) {
	var c net.Conn
	err = inNetns(ns, func() error {
		var err error
		c, err = net.DialTimeout(network, addr, 2*time.Second)
		return err
	})
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if network == "udp" {
		if _, err := c.Write([]byte("hi")); err != nil {
			return "", "", err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", "", err
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return "", "", fmt.Errorf("answer %q", line)
	}
	host, _, _ := net.SplitHostPort(f[1])
	return f[0], host, nil
}
