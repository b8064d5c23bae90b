// Package fakecloud is a test double of a cloud behind
// k8s.io/cloud-provider's Interface: load balancers with addresses from
// a documentation range (never contacted), instances a test adds,
// removes and shuts down, a route table, and disks attached to
// instances through VolumeAttachments (disks.go). The controllers run on it
// unchanged, which shows another provider plugs in. For tests only.
package fakecloud

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	cloudprovider "k8s.io/cloud-provider"
)

// Name is the fake cloud's provider name and providerID scheme.
const Name = "fake"

// Instance is a machine of the fake cloud.
type Instance struct {
	Type, Zone, Region string
	Addresses          []corev1.NodeAddress
	Shutdown           bool
}

// Cloud is the fake cloud. Its zero value is not usable: use New.
type Cloud struct {
	mu        sync.Mutex
	instances map[string]Instance
	lbs       map[string]*corev1.LoadBalancerStatus
	hosts     map[string][]string
	next      netip.Addr
	routes    map[string]*cloudprovider.Route
	// EnsureError, when set, fails every EnsureLoadBalancer.
	ensureErr error
	// routeErr fails CreateRoute for the nodes named.
	routeErr map[types.NodeName]error
	disks    *disks
}

var _ cloudprovider.Interface = (*Cloud)(nil)

// New returns an empty fake cloud.
func New() *Cloud {
	return &Cloud{
		instances: map[string]Instance{},
		lbs:       map[string]*corev1.LoadBalancerStatus{},
		hosts:     map[string][]string{},
		next:      netip.MustParseAddr("203.0.113.1"),
		routes:    map[string]*cloudprovider.Route{},
		routeErr:  map[types.NodeName]error{},
		disks:     newDisks(),
	}
}

// AddInstance makes (or replaces) the machine of node name.
func (c *Cloud) AddInstance(name string, in Instance) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.instances[name] = in
}

// RemoveInstance deletes the machine of node name.
func (c *Cloud) RemoveInstance(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.instances, name)
}

// SetShutdown shuts the machine of node name down, or starts it.
func (c *Cloud) SetShutdown(name string, down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.instances[name]
	in.Shutdown = down
	c.instances[name] = in
}

// FailEnsure makes EnsureLoadBalancer fail with err (nil: succeed).
func (c *Cloud) FailEnsure(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ensureErr = err
}

// FailRoutes makes CreateRoute fail for node with err (nil: succeed).
func (c *Cloud) FailRoutes(node string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		delete(c.routeErr, types.NodeName(node))
	} else {
		c.routeErr[types.NodeName(node)] = err
	}
}

// LoadBalancers returns the keys of the services that have one.
func (c *Cloud) LoadBalancers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	for k := range c.lbs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Hosts returns the nodes the service's load balancer sends to.
func (c *Cloud) Hosts(key string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.hosts[key]...)
}

// RouteTable returns "node cidr" for every route.
func (c *Cloud) RouteTable() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, r := range c.routes {
		out = append(out, string(r.TargetNode)+" "+r.DestinationCIDR)
	}
	sort.Strings(out)
	return out
}

func (c *Cloud) Initialize(cloudprovider.ControllerClientBuilder, <-chan struct{}) {}
func (c *Cloud) LoadBalancer() (cloudprovider.LoadBalancer, bool)                  { return c, true }
func (c *Cloud) Instances() (cloudprovider.Instances, bool)                        { return nil, false }
func (c *Cloud) InstancesV2() (cloudprovider.InstancesV2, bool)                    { return c, true }
func (c *Cloud) Zones() (cloudprovider.Zones, bool)                                { return nil, false }
func (c *Cloud) Clusters() (cloudprovider.Clusters, bool)                          { return nil, false }
func (c *Cloud) Routes() (cloudprovider.Routes, bool)                              { return c, true }
func (c *Cloud) ProviderName() string                                              { return Name }
func (c *Cloud) HasClusterID() bool                                                { return true }

func key(svc *corev1.Service) string {
	k, _ := cache.MetaNamespaceKeyFunc(svc)
	return k
}

func (c *Cloud) GetLoadBalancer(_ context.Context, _ string, svc *corev1.Service) (*corev1.LoadBalancerStatus, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.lbs[key(svc)]
	if !ok {
		return nil, false, nil
	}
	return st.DeepCopy(), true, nil
}

func (c *Cloud) GetLoadBalancerName(_ context.Context, _ string, svc *corev1.Service) string {
	return cloudprovider.DefaultLoadBalancerName(svc)
}

func (c *Cloud) EnsureLoadBalancer(_ context.Context, _ string, svc *corev1.Service, nodes []*corev1.Node) (*corev1.LoadBalancerStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ensureErr != nil {
		return nil, c.ensureErr
	}
	k := key(svc)
	st, ok := c.lbs[k]
	if !ok {
		st = &corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: c.next.String(), Hostname: svc.Name + "." + svc.Namespace + ".lb.fake.example"}}}
		c.next = c.next.Next()
		c.lbs[k] = st
	}
	c.hosts[k] = names(nodes)
	return st.DeepCopy(), nil
}

func (c *Cloud) UpdateLoadBalancer(_ context.Context, _ string, svc *corev1.Service, nodes []*corev1.Node) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(svc)
	if _, ok := c.lbs[k]; !ok {
		return fmt.Errorf("no load balancer for %s", k)
	}
	c.hosts[k] = names(nodes)
	return nil
}

func (c *Cloud) EnsureLoadBalancerDeleted(_ context.Context, _ string, svc *corev1.Service) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.lbs, key(svc))
	delete(c.hosts, key(svc))
	return nil
}

func names(nodes []*corev1.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	sort.Strings(out)
	return out
}

func (c *Cloud) InstanceExists(_ context.Context, node *corev1.Node) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.instances[node.Name]
	return ok, nil
}

func (c *Cloud) InstanceShutdown(_ context.Context, node *corev1.Node) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.instances[node.Name].Shutdown, nil
}

func (c *Cloud) InstanceMetadata(_ context.Context, node *corev1.Node) (*cloudprovider.InstanceMetadata, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	in, ok := c.instances[node.Name]
	if !ok {
		return nil, cloudprovider.InstanceNotFound
	}
	return &cloudprovider.InstanceMetadata{
		ProviderID: Name + "://" + node.Name, InstanceType: in.Type, Zone: in.Zone, Region: in.Region,
		NodeAddresses: append([]corev1.NodeAddress(nil), in.Addresses...),
	}, nil
}

func (c *Cloud) ListRoutes(context.Context, string) ([]*cloudprovider.Route, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*cloudprovider.Route
	for _, r := range c.routes {
		cp := *r
		out = append(out, &cp)
	}
	return out, nil
}

func (c *Cloud) CreateRoute(_ context.Context, _ string, nameHint string, r *cloudprovider.Route) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.routeErr[r.TargetNode]; err != nil {
		return err
	}
	cp := *r
	cp.Name = nameHint + "-" + r.DestinationCIDR
	c.routes[cp.Name] = &cp
	return nil
}

func (c *Cloud) DeleteRoute(_ context.Context, _ string, r *cloudprovider.Route) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.routes, r.Name)
	return nil
}
