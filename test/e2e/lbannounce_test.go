package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/testimages"
)

// The LAN of TestLBAddressAnnounced: a bridge in the server's namespace
// (its address serverNodeIP), two nodes and a client plugged into it,
// and load-balancer addresses from the same subnet.
const (
	lanPool     = "10.99.0.200-10.99.0.210"
	lanLBIP     = "10.99.0.200"
	lanClientIP = "10.99.0.100"
)

// lanCluster is `kemudi server --disable-agent` and two agents, node-1
// and node-2, whose eth0 are on one bridge with a client's cli0: one L2
// network, as machines on a switch. node-2's agent runs with
// --disable-lb-announce, beside `kemudi lb-announcer` with its identity.
type lanCluster struct {
	server     *serverNode
	nodes      map[string]*agentNode
	announcers map[string]*harness.Process // those run alone
	macs       map[string]string           // eth0's MAC of each node
	client     string                      // the client's netns path
}

func newLANCluster(t *testing.T, serverFlags ...string) *lanCluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a node needs root")
	}
	tmp := t.TempDir()
	s := &serverNode{t: t, bin: kemudiWithSupervisor(t)}
	s.dataDir = filepath.Join(tmp, "server")
	s.kubeconfig = filepath.Join(s.dataDir, "admin.kubeconfig")
	s.netnsName = "kemudi-e2e-" + randHex(4)
	s.netnsPath = "/var/run/netns/" + s.netnsName
	run(t, "ip", "netns", "add", s.netnsName)
	t.Cleanup(func() { run(t, "ip", "netns", "del", s.netnsName) })
	t.Cleanup(func() { killWithArg(tmp) })
	nsRun(t, s.netnsPath, "ip", "link", "set", "lo", "up")
	nsRun(t, s.netnsPath, "ip", "link", "add", "lan0", "type", "bridge")
	nsRun(t, s.netnsPath, "ip", "addr", "add", serverNodeIP+"/24", "dev", "lan0")
	nsRun(t, s.netnsPath, "ip", "link", "set", "lan0", "up")
	// plug links dev in the namespace nsName to the bridge, with cidr.
	plug := func(nsName, dev, cidr string) {
		port := "p-" + randHex(4)
		nsRun(t, s.netnsPath, "ip", "link", "add", port, "type", "veth", "peer", "name", dev, "netns", nsName)
		nsRun(t, s.netnsPath, "ip", "link", "set", port, "master", "lan0")
		nsRun(t, s.netnsPath, "ip", "link", "set", port, "up")
		path := "/var/run/netns/" + nsName
		nsRun(t, path, "ip", "addr", "add", cidr, "dev", dev)
		nsRun(t, path, "ip", "link", "set", dev, "up")
	}

	s.registry = registryIn(t, s.netnsPath)
	t.Cleanup(s.registry.Close)
	img, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.registry.Push("busybox:1", img); err != nil {
		t.Fatal(err)
	}
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--net=" + s.netnsPath, s.bin, "server", "--disable-agent", "--data-dir", s.dataDir,
		"--https-listen-port", itoa(port), "--bind-address", "0.0.0.0", "--advertise-address", serverNodeIP}, serverFlags...)
	s.proc = s.startProcess("server", "API server ready", args...)

	c := &lanCluster{server: s, nodes: map[string]*agentNode{}, announcers: map[string]*harness.Process{}, macs: map[string]string{}}
	for name, ip := range map[string]string{"node-1": "10.99.0.11", "node-2": "10.99.0.12"} {
		a := newAgentNetns(t, name, ip)
		plug(a.netnsName, "eth0", ip+"/24")
		nsRun(t, a.netnsPath, "ip", "route", "add", "default", "via", serverNodeIP)
		c.nodes[name] = a
		c.start(name)
		a.importImage(s, s.registry.Ref("busybox:1"))
		c.macs[name] = linkMAC(t, a.netnsPath, "eth0")
	}
	name := "kemudi-e2e-cli-" + randHex(4)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { run(t, "ip", "netns", "del", name) })
	c.client = "/var/run/netns/" + name
	nsRun(t, c.client, "ip", "link", "set", "lo", "up")
	plug(name, "cli0", lanClientIP+"/24")
	return c
}

// start runs node's agent and, for node-2, its announcer alone.
func (c *lanCluster) start(node string) {
	a := c.nodes[node]
	if node != "node-2" {
		c.server.startAgent(a)
		return
	}
	c.server.startAgent(a, "--disable-lb-announce")
	c.announcers[node] = c.server.startProcess("lb-announcer-"+node, "announcing load-balancer addresses",
		"--net="+a.netnsPath, c.server.bin, "lb-announcer", "--node-name", node,
		"--kubeconfig", filepath.Join(a.tmp, "data", "agent", "kubelet.kubeconfig"))
}

// stop ends node's announcer with SIGTERM, then its agent.
func (c *lanCluster) stop(t *testing.T, node string) {
	t.Helper()
	if p := c.announcers[node]; p != nil {
		if err := p.Stop(30 * time.Second); err != nil {
			t.Fatalf("stop %s's lb-announcer: %v", node, err)
		}
	}
	if err := c.nodes[node].proc.Stop(30 * time.Second); err != nil {
		t.Fatalf("stop %s's agent: %v", node, err)
	}
}

// kill ends node's announcer and agent with SIGKILL: nothing hands over.
func (c *lanCluster) kill(node string) {
	if p := c.announcers[node]; p != nil {
		p.Kill()
	}
	c.nodes[node].proc.Kill()
}

var (
	lladdrRE       = regexp.MustCompile(`lladdr ([0-9a-f:]{17})`)
	linkEtherRE    = regexp.MustCompile(`link/ether ([0-9a-f:]{17})`)
	nodeAssignedRE = regexp.MustCompile(`announcing from node "([^"]+)" with protocol "layer2"`)
)

func linkMAC(t *testing.T, netnsPath, dev string) string {
	t.Helper()
	out := run(t, "nsenter", "--net="+netnsPath, "ip", "-o", "link", "show", dev)
	m := linkEtherRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no MAC of %s: %s", dev, out)
	}
	return m[1]
}

// neighbour is the MAC the client's kernel has for ip ("" none), and
// the entry as `ip neigh` shows it.
func (c *lanCluster) neighbour(ip string) (string, string) {
	out, _ := exec.Command("nsenter", "--net="+c.client, "ip", "neigh", "show", ip, "dev", "cli0").CombinedOutput()
	if m := lladdrRE.FindStringSubmatch(string(out)); m != nil {
		return m[1], strings.TrimSpace(string(out))
	}
	return "", strings.TrimSpace(string(out))
}

// nodeOfMAC names the node with mac.
func (c *lanCluster) nodeOfMAC(mac string) string {
	for n, m := range c.macs {
		if m == mac {
			return n
		}
	}
	return ""
}

// announcedBy is the node named by the service's nodeAssigned events,
// the newest last.
func (c *lanCluster) announcedBy(svc string) []string {
	out, _ := c.server.tryKubectl("get", "events", "--field-selector", "involvedObject.name="+svc+",reason=nodeAssigned",
		"--sort-by=.lastTimestamp", "-o", `jsonpath={range .items[*]}{.message}{"\n"}{end}`)
	var nodes []string
	for _, m := range nodeAssignedRE.FindAllStringSubmatch(out, -1) {
		nodes = append(nodes, m[1])
	}
	return nodes
}

// TestLBAddressAnnounced is MetalLB's layer 2 mode on kemudi: two nodes
// and a client on one LAN (a bridge), `kemudi server --lb-address-pool`
// on the same subnet. A LoadBalancer service gets the pool's first
// address, which no node holds; the client reaches the pods at it, its
// kernel having learnt by ARP the MAC of the node the service's
// nodeAssigned event names. That node's agent stops: the other node
// announces the address gratuitously, the client's entry moves to it
// and the service answers again, within seconds. Started again, the
// first node takes the address back; killed (no hand-over), the other
// takes over when it goes NotReady. node-2 announces with `kemudi
// lb-announcer`, its agent with --disable-lb-announce.
func TestLBAddressAnnounced(t *testing.T) {
	t.Parallel()
	c := newLANCluster(t, "--lb-address-pool", lanPool)
	s := c.server
	for node := range c.nodes {
		eventuallyKubectl(t, s, 2*time.Minute, node+" Ready", func() (bool, string) {
			out, err := s.tryKubectl("get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
			return err == nil && out == "True", out
		})
	}
	manifest := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(manifest, []byte(strings.ReplaceAll(webDeployment, "IMAGE", s.registry.Ref("busybox:1"))), 0o644); err != nil {
		t.Fatal(err)
	}
	s.kubectl("apply", "-f", manifest)
	s.kubectl("rollout", "status", "deployment/web", "--timeout=180s")
	s.kubectl("expose", "deployment", "web", "--type=LoadBalancer", "--port=80", "--target-port=8080")
	eventuallyKubectl(t, s, 30*time.Second, "web's EXTERNAL-IP from the pool", func() (bool, string) {
		out, err := s.tryKubectl("get", "svc", "web", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
		return err == nil && out == lanLBIP, out
	})

	// One node says it announces; the client reaches the pods through it.
	var first string
	eventuallyKubectl(t, s, 30*time.Second, "web's nodeAssigned event", func() (bool, string) {
		by := c.announcedBy("web")
		if len(by) == 0 {
			return false, s.kubectl("get", "events", "--field-selector", "involvedObject.name=web")
		}
		first = by[len(by)-1]
		return true, ""
	})
	eventuallyKubectl(t, s, time.Minute, "the client reaches "+lanLBIP, func() (bool, string) {
		out, err := nsWget(c.client, "http://"+lanLBIP+"/")
		return err == nil && strings.HasPrefix(out, "hello from web-"), out
	})
	mac, entry := c.neighbour(lanLBIP)
	if got := c.nodeOfMAC(mac); got != first {
		t.Fatalf("the client resolved %s to %q (%s), want %s's MAC %s (nodes %v)", lanLBIP, mac, entry, first, c.macs[first], c.macs)
	}
	t.Logf("%s announced by %s: the client's entry %q", lanLBIP, first, entry)
	for name, a := range c.nodes {
		if out := run(t, "nsenter", "--net="+a.netnsPath, "ip", "-o", "addr", "show"); strings.Contains(out, lanLBIP+"/") {
			t.Errorf("%s holds %s on an interface:\n%s", name, lanLBIP, out)
		}
	}

	// The announcing node's agent stops: the other takes over.
	other := "node-1"
	if first == "node-1" {
		other = "node-2"
	}
	stop := time.Now()
	c.stop(t, first)
	stopped := time.Since(stop)
	var moved, answered time.Duration
	eventuallyKubectl(t, s, 30*time.Second, "the client's entry for "+lanLBIP+" to move to "+other, func() (bool, string) {
		mac, entry := c.neighbour(lanLBIP)
		if moved == 0 && mac == c.macs[other] {
			moved = time.Since(stop)
		}
		if moved == 0 {
			return false, entry
		}
		out, err := nsWget(c.client, "http://"+lanLBIP+"/")
		if err != nil || !strings.HasPrefix(out, "hello from web-") {
			return false, entry + ": " + out
		}
		answered = time.Since(stop)
		return true, ""
	})
	t.Logf("failover: %s stopped %v after SIGTERM; the client's entry moved to %s %v after it, the service answered through it %v after it",
		first, stopped.Round(time.Millisecond), other, moved.Round(time.Millisecond), answered.Round(time.Millisecond))
	eventuallyKubectl(t, s, 30*time.Second, other+"'s nodeAssigned event", func() (bool, string) {
		by := c.announcedBy("web")
		return len(by) > 0 && by[len(by)-1] == other, strings.Join(by, ",")
	})

	// Back, first (ahead by the hash) takes the address back.
	c.start(first)
	back := time.Now()
	c.waitEntry(t, time.Minute, first)
	t.Logf("%s running again: the client's entry back at it %v after it started", first, time.Since(back).Round(time.Millisecond))

	// Killed, it cannot hand over: the other node takes over once the
	// node lifecycle controller marks first NotReady (no lease renewed
	// for --node-monitor-grace-period, 40 s).
	c.kill(first)
	killed := time.Now()
	var notReady time.Duration
	eventuallyKubectl(t, s, 2*time.Minute, first+" NotReady", func() (bool, string) {
		out, err := s.tryKubectl("get", "node", first, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		notReady = time.Since(killed)
		return err == nil && out != "True", out
	})
	c.waitEntry(t, 30*time.Second, other)
	t.Logf("%s's agent killed: NotReady seen %v after, the client's entry at %s and the service answering %v after",
		first, notReady.Round(time.Second), other, time.Since(killed).Round(time.Millisecond))
}

// waitEntry waits until the client's entry for the address is node's
// MAC and the service answers through it.
func (c *lanCluster) waitEntry(t *testing.T, timeout time.Duration, node string) {
	t.Helper()
	eventuallyKubectl(t, c.server, timeout, "the client's entry for "+lanLBIP+" at "+node, func() (bool, string) {
		mac, entry := c.neighbour(lanLBIP)
		if mac != c.macs[node] {
			return false, entry
		}
		out, err := nsWget(c.client, "http://"+lanLBIP+"/")
		return err == nil && strings.HasPrefix(out, "hello from web-"), entry + ": " + out
	})
}
