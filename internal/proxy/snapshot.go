package proxy

import (
	"net/netip"
	"time"
)

// Service is the immutable snapshot of one Service and its endpoints, all
// Compute needs to know about it.
type Service struct {
	Namespace, Name string
	ClusterIP       netip.Addr // invalid: headless or IPv6-only, nothing to program
	ExternalIPs     []netip.Addr
	LoadBalancerIPs []netip.Addr
	Ports           []ServicePort
	// AffinityTimeout > 0 means sessionAffinity ClientIP.
	AffinityTimeout time.Duration
	ExternalLocal   bool // externalTrafficPolicy Local
	InternalLocal   bool // internalTrafficPolicy Local
	// HealthCheckNodePort serves local endpoints' count (externalTrafficPolicy Local).
	HealthCheckNodePort int32
	// Firewalled: loadBalancerSourceRanges were given, so traffic to the
	// load-balancer addresses from anywhere but SourceRanges is dropped
	// (SourceRanges may then be empty: nothing is let in).
	Firewalled   bool
	SourceRanges []netip.Prefix
	// Endpoints by port name.
	Endpoints map[string][]Endpoint
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name     string
	Protocol uint8
	Port     uint16
	NodePort uint16
}

// Endpoint is one address and port serving a service port.
type Endpoint struct {
	Addr        netip.Addr
	Port        uint16
	Ready       bool
	Serving     bool
	Terminating bool
	Local       bool // on this node
}

// Config is what Compute needs beyond the services.
type Config struct {
	// ClusterCIDRs are the pods' addresses: cluster-IP traffic from
	// elsewhere is masqueraded, and pods reaching external addresses are
	// short-circuited to all endpoints.
	ClusterCIDRs []netip.Prefix
	// ServiceCIDRs are rejected when no rule translated them.
	ServiceCIDRs []netip.Prefix
	// MasqueradeBit marks packets for masquerading in postrouting.
	MasqueradeBit uint32
	// NodeIPs are the node's own addresses: when a service's source
	// ranges include one, the node may reach its load balancer (as
	// upstream, whose traffic then may carry the load balancer's address).
	NodeIPs []netip.Addr
}
