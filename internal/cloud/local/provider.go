package local

import (
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	cloudprovider "k8s.io/cloud-provider"
)

// ProviderName is the name --cloud-provider takes, and the scheme of
// the providerIDs it gives nodes (local://<node name>).
const ProviderName = "local"

// Options configure the local provider.
type Options struct {
	// Pool is where load balancer addresses come from
	// (--lb-address-pool); empty: the nodes' addresses.
	Pool Pool
	// Reserved are the ports the nodes use themselves, which a load
	// balancer on the node addresses may not take (default
	// DefaultReserved).
	Reserved map[Port]string
	// Zone and Region label nodes that have no zone or region label of
	// their own (default "local").
	Zone, Region string
	// InstanceType labels every node (default "local").
	InstanceType string
}

// DefaultReserved are the ports of kemudi's own node services (and
// ssh): a load balancer taking one of them on the node addresses would
// cut the node off.
func DefaultReserved() map[Port]string {
	return map[Port]string{
		{corev1.ProtocolTCP, 22}:    "ssh",
		{corev1.ProtocolTCP, 53}:    "the node's DNS",
		{corev1.ProtocolUDP, 53}:    "the node's DNS",
		{corev1.ProtocolTCP, 5000}:  "the embedded registry",
		{corev1.ProtocolTCP, 6443}:  "the API server",
		{corev1.ProtocolTCP, 10250}: "the kubelet",
		{corev1.ProtocolTCP, 10256}: "the proxy's health check",
	}
}

func (o Options) withDefaults() Options {
	if o.Reserved == nil {
		o.Reserved = DefaultReserved()
	}
	if o.Zone == "" {
		o.Zone = "local"
	}
	if o.Region == "" {
		o.Region = "local"
	}
	if o.InstanceType == "" {
		o.InstanceType = "local"
	}
	return o
}

// Provider is the local cloud provider: a cloudprovider.Interface with
// load balancers, instances and routes, no clusters.
type Provider struct {
	opts Options

	mu sync.Mutex
	// services lists the services, to read back the load balancers made
	// before a restart (SetInformers).
	services corelisters.ServiceLister
	// nodes hold the route table (routes.go); client writes it
	// (Initialize).
	nodes  corelisters.NodeLister
	client kubernetes.Interface
	// claims are the load balancers, by service key; nil until restored.
	claims map[string]Claim
}

var (
	_ cloudprovider.Interface    = (*Provider)(nil)
	_ cloudprovider.InformerUser = (*Provider)(nil)
	_ cloudprovider.Routes       = (*Provider)(nil)
)

// New returns a local provider.
func New(opts Options) *Provider {
	return &Provider{opts: opts.withDefaults()}
}

// SetInformers lets the provider read the services' status: its record
// of the load balancers it made, as a cloud keeps its own.
func (p *Provider) SetInformers(f informers.SharedInformerFactory) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inf := f.Core().V1().Services()
	inf.Informer() // registered before the factory starts
	p.services = inf.Lister()
	nodes := f.Core().V1().Nodes()
	nodes.Informer()
	p.nodes = nodes.Lister()
}

// Initialize keeps a client for writing the route table; the local
// provider starts no goroutine.
func (p *Provider) Initialize(b cloudprovider.ControllerClientBuilder, _ <-chan struct{}) {
	c, err := b.Client("local-cloud-provider")
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.client = c
	}
}

func (p *Provider) apiClient() (kubernetes.Interface, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil {
		return nil, fmt.Errorf("local provider: not initialized with an API client")
	}
	return p.client, nil
}

func (p *Provider) nodeLister() (corelisters.NodeLister, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nodes == nil {
		return nil, fmt.Errorf("local provider: no node informer (SetInformers)")
	}
	return p.nodes, nil
}

// LoadBalancer returns the provider itself.
func (p *Provider) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return p, true }

// Instances is not implemented: InstancesV2 is.
func (p *Provider) Instances() (cloudprovider.Instances, bool) { return nil, false }

// InstancesV2 returns the provider itself.
func (p *Provider) InstancesV2() (cloudprovider.InstancesV2, bool) { return p, true }

// Zones is not implemented: InstancesV2 gives zones.
func (p *Provider) Zones() (cloudprovider.Zones, bool) { return nil, false }

// Clusters is not implemented.
func (p *Provider) Clusters() (cloudprovider.Clusters, bool) { return nil, false }

// ProviderName returns "local".
func (p *Provider) ProviderName() string { return ProviderName }

// HasClusterID returns false: the local provider needs no cluster ID.
func (p *Provider) HasClusterID() bool { return false }
