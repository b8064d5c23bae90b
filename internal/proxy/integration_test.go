package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/proxy"
)

// cluster is one node namespace running the proxy, two pod namespaces on
// its bridge (one of them "on this node") and a client namespace outside.
type cluster struct {
	net                  *testNet
	node, pod1, pod2, cl string
	cl2                  string // a second client, on another link
	client               kubernetes.Interface
	nodeName             string
}

const (
	nodeAddr   = "192.168.50.1"
	clientAddr = "192.168.50.2"
	client2    = "192.168.51.2"
	lbAddr     = "203.0.113.10" // a load balancer's address, routed to the node
	pod1Addr   = "10.42.0.11"
	pod2Addr   = "10.42.0.12"
)

func startCluster(t *testing.T) *cluster {
	n := newTestNet(t)
	c := &cluster{net: n, nodeName: "node-a"}
	c.node, c.pod1, c.pod2, c.cl, c.cl2 = n.add("node"), n.add("pod1"), n.add("pod2"), n.add("cli"), n.add("cli2")
	n.in(c.node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	n.in(c.node, "ip", "link", "add", "br0", "type", "bridge")
	n.in(c.node, "ip", "addr", "add", "10.42.0.1/24", "dev", "br0")
	n.in(c.node, "ip", "link", "set", "br0", "up")
	n.link(c.pod1, c.node, "vp1", pod1Addr+"/24", "10.42.0.1", "br0", "")
	n.link(c.pod2, c.node, "vp2", pod2Addr+"/24", "10.42.0.1", "br0", "")
	// As kemudi's pod network: with br_netfilter a pod's packet DNATed
	// back to it is bridged out of the port it came in on.
	n.in(c.node, "ip", "link", "set", "vp1", "type", "bridge_slave", "hairpin", "on")
	n.in(c.node, "ip", "link", "set", "vp2", "type", "bridge_slave", "hairpin", "on")
	n.link(c.cl, c.node, "vc", clientAddr+"/24", nodeAddr, "", nodeAddr+"/24")
	n.link(c.cl2, c.node, "vc2", client2+"/24", "192.168.51.1", "", "192.168.51.1/24")
	// A node has a default route: a local connection's route is looked up
	// before the output hook translates its cluster IP.
	n.in(c.node, "ip", "route", "add", "default", "via", clientAddr)
	serve(t, c.pod1, "pod1", ":8080")
	serve(t, c.pod2, "pod2", ":8080")

	s := clustertest.Start(t)
	c.client = s.Client
	o := proxy.DefaultOptions()
	o.NodeName = c.nodeName
	o.ClusterCIDRs = []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}
	o.NetNSPath = nsPath(c.node)
	o.HealthzBindAddress = nodeAddr + ":10256"
	o.SyncPeriod = 500 * time.Millisecond
	o.Log = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	p, err := proxy.New(s.Client, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
		p.Close()
	})
	return c
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// service creates a selector-less service and its slice naming the pods
// given (pod1 on this node, pod2 elsewhere).
func (c *cluster) service(t *testing.T, name string, mutate func(*corev1.Service), pods ...string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)},
			{Name: "udp", Protocol: corev1.ProtocolUDP, Port: 90, TargetPort: intstr.FromInt32(8080)},
		}}}
	if mutate != nil {
		mutate(svc)
	}
	svc, err := c.client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.slice(t, name, pods...)
	return svc
}

func (c *cluster) slice(t *testing.T, svc string, pods ...string) {
	t.Helper()
	port, tcp, udp := int32(8080), corev1.ProtocolTCP, corev1.ProtocolUDP
	http, udpName := "http", "udp"
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-test", Namespace: "default", Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "proxy-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &http, Protocol: &tcp, Port: &port}, {Name: &udpName, Protocol: &udp, Port: &port}},
	}
	for _, p := range pods {
		node := "node-b"
		addr := pod2Addr
		if p == "pod1" {
			node, addr = c.nodeName, pod1Addr
		}
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{addr}, NodeName: &node})
	}
	ctx := context.Background()
	api := c.client.DiscoveryV1().EndpointSlices("default")
	if old, err := api.Get(ctx, sl.Name, metav1.GetOptions{}); err == nil {
		sl.ResourceVersion = old.ResourceVersion
		_, err = api.Update(ctx, sl, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := api.Create(ctx, sl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// eventually retries f until it succeeds or the deadline passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reached asks addr n times from ns and counts the endpoints answering.
func reached(ns, network, addr string, n int) (map[string]int, string, error) {
	seen := map[string]int{}
	var client string
	for range n {
		ep, cl, err := ask(ns, network, addr)
		if err != nil {
			return seen, "", err
		}
		seen[ep]++
		client = cl
	}
	return seen, client, nil
}

func TestProxyTraffic(t *testing.T) {
	c := startCluster(t)
	web := c.service(t, "web", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }, "pod1", "pod2")
	cip := web.Spec.ClusterIP
	nodePort := web.Spec.Ports[0].NodePort

	t.Run("cluster IP from the node and from outside, balanced", func(t *testing.T) {
		for _, ns := range []string{c.node, c.cl} {
			eventually(t, "both endpoints through "+cip, func() error {
				seen, _, err := reached(ns, "tcp", cip+":80", 30)
				if err == nil && (seen["pod1"] == 0 || seen["pod2"] == 0) {
					err = fmt.Errorf("answers %v, want both pods", seen)
				}
				return err
			})
		}
		// From outside the pod network the connection is masqueraded: the
		// pods answer the node (its bridge address), not the client.
		_, client, err := reached(c.cl, "tcp", cip+":80", 1)
		if err != nil || client != "10.42.0.1" {
			t.Errorf("cluster IP from outside the pod network: the pod saw client %q (%v), want the node's 10.42.0.1", client, err)
		}
	})
	t.Run("UDP cluster IP", func(t *testing.T) {
		eventually(t, "UDP through "+cip, func() error {
			_, _, err := ask(c.cl, "udp", cip+":90")
			return err
		})
	})
	t.Run("node port on the node's address, balanced", func(t *testing.T) {
		addr := fmt.Sprintf("%s:%d", nodeAddr, nodePort)
		eventually(t, "both endpoints through "+addr, func() error {
			seen, _, err := reached(c.cl, "tcp", addr, 30)
			if err == nil && (seen["pod1"] == 0 || seen["pod2"] == 0) {
				err = fmt.Errorf("answers %v, want both pods", seen)
			}
			return err
		})
	})

	t.Run("session affinity sticks", func(t *testing.T) {
		sticky := c.service(t, "sticky", func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP }, "pod1", "pod2")
		eventually(t, "one endpoint for all connections", func() error {
			seen, _, err := reached(c.cl, "tcp", sticky.Spec.ClusterIP+":80", 20)
			if err == nil && len(seen) != 1 {
				err = fmt.Errorf("answers %v, want one pod", seen)
			}
			return err
		})
	})

	t.Run("no endpoints: refused at once", func(t *testing.T) {
		empty := c.service(t, "empty", nil)
		for _, ns := range []string{c.node, c.cl} {
			eventually(t, "refusal", func() error {
				start := time.Now()
				_, _, err := ask(ns, "tcp", empty.Spec.ClusterIP+":80")
				if !errors.Is(err, syscall.ECONNREFUSED) {
					return fmt.Errorf("want connection refused, got %v", err)
				}
				if d := time.Since(start); d > time.Second {
					return fmt.Errorf("refused after %v", d)
				}
				return nil
			})
		}
	})

	t.Run("untranslated service address never leaves the node", func(t *testing.T) {
		for _, ns := range []string{c.node, c.cl} {
			_, _, err := ask(ns, "tcp", "10.43.250.250:80")
			if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.EHOSTUNREACH) {
				t.Errorf("from %s: want refused or unreachable at once, got %v", ns, err)
			}
		}
	})

	t.Run("externalTrafficPolicy Local keeps the client address", func(t *testing.T) {
		localLB := func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}
		local := c.service(t, "local", localLB, "pod1", "pod2")
		remote := c.service(t, "remote", localLB, "pod2") // its one endpoint is on another node
		for _, s := range []*corev1.Service{local, remote} {
			if s.Spec.HealthCheckNodePort < 30000 || s.Spec.HealthCheckNodePort > 32767 {
				t.Fatalf("%s: the API server allocated healthCheckNodePort %d, want one in 30000-32767", s.Name, s.Spec.HealthCheckNodePort)
			}
		}
		addr := fmt.Sprintf("%s:%d", nodeAddr, local.Spec.Ports[0].NodePort)
		eventually(t, "local endpoint only, client address kept", func() error {
			seen, client, err := reached(c.cl, "tcp", addr, 20)
			if err == nil && (len(seen) != 1 || seen["pod1"] == 0 || client != clientAddr) {
				err = fmt.Errorf("answers %v from client %s, want pod1 only seeing %s", seen, client, clientAddr)
			}
			return err
		})
		// Upstream's health-check answers: the body names the service and
		// counts this node's endpoints; 503 where there are none, so a
		// load balancer skips the node.
		tests := []struct {
			svc  *corev1.Service
			code int
			body string
		}{
			{local, 200, `{"localEndpoints":1,"service":{"name":"local","namespace":"default"},"serviceProxyHealthy":true}`},
			{remote, 503, `{"localEndpoints":0,"service":{"name":"remote","namespace":"default"},"serviceProxyHealthy":true}`},
		}
		for _, tt := range tests {
			hc := fmt.Sprintf("http://%s:%d/", nodeAddr, tt.svc.Spec.HealthCheckNodePort)
			eventually(t, "health check node port of "+tt.svc.Name, func() error {
				code, body, err := get(c.cl, hc)
				if err == nil && (code != tt.code || strings.TrimSpace(body) != tt.body) {
					err = fmt.Errorf("GET %s = %d %s, want %d %s", hc, code, body, tt.code, tt.body)
				}
				return err
			})
		}
		// No local endpoint: external traffic is dropped (as upstream), not
		// sent to the other node's pod.
		_, _, err := ask(c.cl, "tcp", fmt.Sprintf("%s:%d", nodeAddr, remote.Spec.Ports[0].NodePort))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("node port of a Local service without local endpoints: want a timeout (dropped), got %v", err)
		}
		// Once its endpoint is local too, the node answers 200.
		c.slice(t, "remote", "pod1", "pod2")
		hc := fmt.Sprintf("http://%s:%d/", nodeAddr, remote.Spec.HealthCheckNodePort)
		eventually(t, "health check after a local endpoint came", func() error {
			code, body, err := get(c.cl, hc)
			if err == nil && (code != 200 || !strings.Contains(body, `"localEndpoints":1`)) {
				err = fmt.Errorf("GET %s = %d %s", hc, code, body)
			}
			return err
		})
	})

	t.Run("loadBalancerSourceRanges", func(t *testing.T) {
		fw := c.service(t, "fw", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.LoadBalancerSourceRanges = []string{clientAddr + "/32"}
		}, "pod1", "pod2")
		fw.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: lbAddr}}
		fw, err := c.client.CoreV1().Services("default").UpdateStatus(context.Background(), fw, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lb := lbAddr + ":80"
		eventually(t, "the listed client reaches the load balancer", func() error {
			_, _, err := ask(c.cl, "tcp", lb)
			return err
		})
		dropped := func(ns, addr string) error {
			_, _, err := ask(ns, "tcp", addr)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return fmt.Errorf("from %s to %s: want a timeout (dropped), got %v", ns, addr, err)
			}
			return nil
		}
		if err := dropped(c.cl2, lb); err != nil {
			t.Error(err)
		}
		// Source ranges guard the load balancer's address, not the node
		// port (as upstream).
		if _, _, err := ask(c.cl2, "tcp", fmt.Sprintf("%s:%d", nodeAddr, fw.Spec.Ports[0].NodePort)); err != nil {
			t.Errorf("node port from the unlisted client: %v", err)
		}
		// Listing the second client's network lets it in; the first stays.
		fw.Spec.LoadBalancerSourceRanges = []string{clientAddr + "/32", "192.168.51.0/24"}
		if _, err := c.client.CoreV1().Services("default").Update(context.Background(), fw, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the second client let in", func() error {
			_, _, err := ask(c.cl2, "tcp", lb)
			return err
		})
		if _, _, err := ask(c.cl, "tcp", lb); err != nil {
			t.Errorf("first client after the update: %v", err)
		}
	})

	t.Run("healthz", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/livez"} {
			eventually(t, path, func() error {
				code, body, err := get(c.cl, "http://"+nodeAddr+":10256"+path)
				if err == nil && (code != 200 || !strings.Contains(body, `"lastUpdated"`)) {
					err = fmt.Errorf("%d %s", code, body)
				}
				return err
			})
		}
		_, body, err := get(c.cl, "http://"+nodeAddr+":10256/metrics")
		if err != nil || !strings.Contains(body, "kubeproxy_network_programming_duration_seconds_count") {
			t.Errorf("metrics: %v %.300s", err, body)
		}
	})

	t.Run("one endpoint change is one small change of the table", func(t *testing.T) {
		one := c.service(t, "one", nil, "pod1")
		eventually(t, "pod1 alone", func() error {
			seen, _, err := reached(c.cl, "tcp", one.Spec.ClusterIP+":80", 5)
			if err == nil && seen["pod1"] != 5 {
				err = fmt.Errorf("answers %v", seen)
			}
			return err
		})
		before := c.net.in(c.node, "nft", "list", "table", "ip", proxy.TableName)
		c.slice(t, "one", "pod1", "pod2")
		eventually(t, "pod2 added", func() error {
			seen, _, err := reached(c.cl, "tcp", one.Spec.ClusterIP+":80", 20)
			if err == nil && seen["pod2"] == 0 {
				err = fmt.Errorf("answers %v", seen)
			}
			return err
		})
		after := c.net.in(c.node, "nft", "list", "table", "ip", proxy.TableName)
		changed := blockDiff(before, after)
		t.Logf("changed chains, sets and maps: %v", changed)

		// Only the endpoint maps' elements (the ranges of one's two
		// ports, redrawn) and maybe the hairpin set: no chain, so no new
		// rule for the kernel to validate the table for.
		maps := 0
		for _, name := range changed {
			switch {
			case name == "set hairpin":
			case strings.HasPrefix(name, "map endpoints-"):
				maps++
			default:
				t.Errorf("%q changed: want only endpoint maps' elements", name)
			}
		}
		if maps == 0 {
			t.Errorf("no endpoint map changed: %v", changed)
		}
	})

	t.Run("hairpin: a pod reaching itself through its service is masqueraded", func(t *testing.T) {
		self := c.service(t, "self", nil, "pod1")
		defer func() {
			if t.Failed() {
				t.Log(c.net.in(c.node, "nft", "list", "table", "ip", proxy.TableName))
			}
		}()
		eventually(t, "pod1 through its own service", func() error {
			ep, client, err := ask(c.pod1, "tcp", self.Spec.ClusterIP+":80")
			if err == nil && (ep != "pod1" || client != "10.42.0.1") {
				err = fmt.Errorf("answer from %s seeing client %s, want pod1 seeing the node's bridge address", ep, client)
			}
			return err
		})
		// Another pod of the same service sees the pod's own address.
		eventually(t, "pod1 through web to pod2", func() error {
			ep, client, err := ask(c.pod1, "tcp", cip+":80")
			switch {
			case err != nil:
			case ep == "pod2" && client != pod1Addr:
				return fmt.Errorf("pod2 saw client %s, want %s (no masquerade)", client, pod1Addr)
			case ep != "pod2":
				return fmt.Errorf("answer from %s, retrying for pod2", ep)
			}
			return err
		})
	})

	t.Run("a deleted table is rebuilt", func(t *testing.T) {
		c.net.in(c.node, "nft", "delete", "table", "ip", proxy.TableName)
		eventually(t, "cluster IP back", func() error {
			_, _, err := ask(c.cl, "tcp", cip+":80")
			return err
		})
	})
}

func get(ns, url string) (int, string, error) {
	// The transport dials on goroutines of its own: the socket must be
	// made in ns, never in the host's namespace.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := inNetns(ns, func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	cl := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DialContext: dial, Proxy: nil}}
	resp, err := cl.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// blockDiff names the chains, sets and maps that differ between two
// listings of the table; affinity sets' elements (their timers run) are
// left out.
func blockDiff(a, b string) []string {
	blocks := func(s string) map[string]string {
		out := map[string]string{}
		var name string
		for _, l := range strings.Split(s, "\n") {
			t := strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(t, "chain "), strings.HasPrefix(t, "set "), strings.HasPrefix(t, "map "):
				name = strings.TrimSuffix(t, " {")
			case t == "}" || t == "" || strings.HasPrefix(t, "elements = ") && strings.Contains(t, "expires"):
			default:
				out[name] += t + "\n"
			}
		}
		return out
	}
	ba, bb := blocks(a), blocks(b)
	var changed []string
	for name, body := range bb {
		if ba[name] != body {
			changed = append(changed, name)
		}
	}
	for name := range ba {
		if _, ok := bb[name]; !ok {
			changed = append(changed, name)
		}
	}
	return changed
}
