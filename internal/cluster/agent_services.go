package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"strings"
	"time"

	"github.com/kemudi/kemudi/internal/component"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cloud/announce"
	cloudlocal "github.com/kemudi/kemudi/internal/cloud/local"
	"github.com/kemudi/kemudi/internal/cloud/localpath"
	"github.com/kemudi/kemudi/internal/dns"
	"github.com/kemudi/kemudi/internal/proxy"
)

// NodeServices configure what makes Services work on a node, beside the
// kubelet: the proxy (nftables) and the node's cluster DNS server. Each is
// an API client of its own, with the node's identity.
type NodeServices struct {
	DisableProxy bool
	DisableDNS   bool
	// DisableLocalPath runs no local-path provisioner: claims placed on
	// the node wait (its released volumes too) until one runs.
	DisableLocalPath bool
	// DisableLBAnnounce runs no load-balancer announcer: the node
	// answers no ARP or NDP for load-balancer addresses, and is never
	// elected to (announce.AnnotationKey).
	DisableLBAnnounce bool
	// LocalPathDir holds the node's local-path volumes ("" runs no
	// provisioner).
	LocalPathDir string
	// Proxy's NodeName and Log are the agent's.
	Proxy proxy.Options
	// DNS listens on the node's InternalIP, port 53, unless Listen is set.
	DNS dns.Options
}

// DefaultNodeServices run both, with their commands' defaults.
func DefaultNodeServices() NodeServices {
	d := dns.DefaultOptions()
	d.Listen = nil
	return NodeServices{Proxy: proxy.DefaultOptions(), DNS: d}
}

// runWithNodeServices runs node (the runtime and kubelet) and the node's
// proxy, DNS, routes to other nodes' pods, load-balancer announcer and
// local-path provisioner
// under one supervisor: those are restarted whenever they fail, the
// node's failure stops the agent.
func runWithNodeServices(ctx context.Context, cfg *rest.Config, o AgentOptions, node func(context.Context, *rest.Config, AgentOptions) error) error {
	log := o.Kubelet.Log
	if log == nil {
		log = slog.Default()
	}
	if o.Kubelet.NodeName == "" {
		// The kubelet's own default, so that all three agree.
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("node name: %w", err)
		}
		o.Kubelet.NodeName = strings.ToLower(host)
	}
	if o.Services.DisableDNS {
		go forgetNodeDNS(ctx, cfg, o.Kubelet.NodeName, log)
	}
	sv := component.NewSupervisor(log)
	// Like kube-proxy's and CoreDNS's pods, the proxy and DNS are
	// restarted for as long as the node runs (backing off up to a
	// minute): their failure must not take the node and its pods down.
	sv.MaxRestarts = math.MaxInt
	return sv.Run(ctx, nodeServiceTasks(cfg, o, log, node)...)
}

// nodeServiceTasks are the agent's tasks: the node, then each service
// its options leave on.
func nodeServiceTasks(cfg *rest.Config, o AgentOptions, log *slog.Logger, node func(context.Context, *rest.Config, AgentOptions) error) []component.Task {
	name := o.Kubelet.NodeName
	tasks := []component.Task{{Name: "node", Run: func(ctx context.Context) error { return node(ctx, cfg, o) }}}
	s := o.Services
	if !s.DisableProxy {
		po := s.Proxy
		po.NodeName, po.Log = name, log
		tasks = append(tasks, component.Task{Name: "proxy", Restart: true, Run: func(ctx context.Context) error {
			return proxy.Run(ctx, cfg, po)
		}})
	}
	if !s.DisableDNS {
		do := s.DNS
		do.Log = log
		tasks = append(tasks, component.Task{Name: "dns", Restart: true, Run: func(ctx context.Context) error {
			return runNodeDNS(ctx, cfg, name, do, log)
		}})
	}
	// The local cloud provider's routes to the other nodes' pods: it
	// changes nothing while the route table (on the Nodes) is empty.
	tasks = append(tasks, component.Task{Name: "routes", Restart: true, Run: func(ctx context.Context) error {
		return cloudlocal.RunNodeRoutes(ctx, cfg, cloudlocal.NodeRoutesOptions{NodeName: name, NetNSPath: s.Proxy.NetNSPath, Log: log})
	}})
	if !s.DisableLBAnnounce {
		ao := announce.Options{NodeName: name, NetNSPath: s.Proxy.NetNSPath, Log: log}
		tasks = append(tasks, component.Task{Name: "lb-announce", Restart: true, Run: func(ctx context.Context) error {
			return announce.Run(ctx, cfg, ao)
		}})
	}
	if !s.DisableLocalPath && s.LocalPathDir != "" {
		lo := localpath.Options{NodeName: name, Dir: s.LocalPathDir, Log: log}
		tasks = append(tasks, component.Task{Name: "local-path", Restart: true, Run: func(ctx context.Context) error {
			return localpath.Run(ctx, cfg, lo)
		}})
	}
	return tasks
}

// runNodeDNS serves cluster DNS on the node's address once the kubelet
// registered the node, and names it in the node's slice of kube-dns.
func runNodeDNS(ctx context.Context, cfg *rest.Config, nodeName string, o dns.Options, log *slog.Logger) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dns: client: %w", err)
	}
	node, ip, err := waitNodeAddress(ctx, client, nodeName, log)
	if err != nil {
		return err
	}
	if len(o.Listen) == 0 {
		o.Listen = []string{net.JoinHostPort(ip, "53")}
	}
	slice := dnsSlice(node, ip)
	o.Started = func([]string, string) {
		go keepDNSSlice(ctx, client, slice, log)
	}
	return dns.Run(ctx, cfg, o)
}

// waitNodeAddress waits until the node is registered with an IPv4
// InternalIP (the kubelet registers it; the DNS server may start first).
func waitNodeAddress(ctx context.Context, client kubernetes.Interface, name string, log *slog.Logger) (*corev1.Node, string, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	waited := 0
	for {
		node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			if ip := internalIPv4(node); ip != "" {
				return node, ip, nil
			}
		} else if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			log.Warn("dns: get node", "node", name, "err", err)
		}
		if waited++; waited%30 == 0 {
			log.Info("dns: waiting for the node's InternalIP", "node", name)
		}
		select {
		case <-ctx.Done():
			return nil, "", context.Cause(ctx)
		case <-tick.C:
		}
	}
}

func internalIPv4(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if ip := net.ParseIP(a.Address); a.Type == corev1.NodeInternalIP && ip != nil && ip.To4() != nil {
			return a.Address
		}
	}
	return ""
}

// dnsSliceName is the node's EndpointSlice of kube-dns.
func dnsSliceName(node string) string { return DNSServiceName + "-" + node }

// dnsSlice names the node's DNS server as a kube-dns endpoint on that
// node. It belongs to the Node: the garbage collector removes it with it.
func dnsSlice(node *corev1.Node, ip string) *discoveryv1.EndpointSlice {
	yes, no := true, false
	name := node.Name
	port := func(n string, proto corev1.Protocol, p int32) discoveryv1.EndpointPort {
		return discoveryv1.EndpointPort{Name: &n, Protocol: &proto, Port: &p}
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: dnsSliceName(node.Name), Namespace: DNSServiceNamespace,
			Labels: map[string]string{
				discoveryv1.LabelServiceName: DNSServiceName,
				discoveryv1.LabelManagedBy:   dnsSliceManager,
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{ip},
			NodeName:   &name,
			Conditions: discoveryv1.EndpointConditions{Ready: &yes, Serving: &yes, Terminating: &no},
		}},
		Ports: []discoveryv1.EndpointPort{
			port("dns", corev1.ProtocolUDP, 53),
			port("dns-tcp", corev1.ProtocolTCP, 53),
			port("metrics", corev1.ProtocolTCP, 9153),
		},
	}
}

// keepDNSSlice writes the slice, then checks it every minute (someone may
// have deleted or changed it) until ctx ends.
func keepDNSSlice(ctx context.Context, client kubernetes.Interface, want *discoveryv1.EndpointSlice, log *slog.Logger) {
	wait := time.Second
	for {
		err := ensureDNSSlice(ctx, client, want)
		if err == nil {
			wait = time.Minute
		} else if ctx.Err() == nil {
			log.Warn("dns: kube-dns endpoint slice", "name", want.Name, "err", err)
			wait = min(2*wait, time.Minute)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func ensureDNSSlice(ctx context.Context, client kubernetes.Interface, want *discoveryv1.EndpointSlice) error {
	slices := client.DiscoveryV1().EndpointSlices(want.Namespace)
	have, err := slices.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = slices.Create(ctx, want, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(have.Endpoints, want.Endpoints) && equality.Semantic.DeepEqual(have.Ports, want.Ports) &&
		equality.Semantic.DeepEqual(have.Labels, want.Labels) && equality.Semantic.DeepEqual(have.OwnerReferences, want.OwnerReferences) {
		return nil
	}
	up := want.DeepCopy()
	up.ResourceVersion = have.ResourceVersion
	_, err = slices.Update(ctx, up, metav1.UpdateOptions{})
	return err
}

// forgetNodeDNS removes the node's kube-dns slice when the agent runs no
// DNS server (--disable-dns): the node's pods must not be sent to a
// server that is not there. Best effort.
func forgetNodeDNS(ctx context.Context, cfg *rest.Config, nodeName string, log *slog.Logger) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = client.DiscoveryV1().EndpointSlices(DNSServiceNamespace).Delete(ctx, dnsSliceName(nodeName), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		log.Warn("dns disabled: remove the node's kube-dns endpoint slice", "err", err)
	}
}
