package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	cloudprovider "k8s.io/cloud-provider"
)

// RoutesAnnotation is where the local provider keeps its route table: on
// each Node, the routes to that node's pod CIDRs, as JSON
// ([{"cidr":"10.42.1.0/24","via":"10.0.0.2"}]). A machine without a cloud
// has no router the provider could program and the controller cannot
// reach other machines' kernels, so the table lives in the API, and every
// agent installs the routes to the other nodes in its own kernel
// (NodeRoutes), as flannel's host-gw backend does.
const RoutesAnnotation = "local.cloud.kemudi.io/routes"

// NodeRoute is one route of the table: CIDR through the node address Via.
type NodeRoute struct {
	CIDR netip.Prefix `json:"cidr"`
	Via  netip.Addr   `json:"via"`
}

// ParseRoutes reads a node's RoutesAnnotation.
func ParseRoutes(s string) ([]NodeRoute, error) {
	if s == "" {
		return nil, nil
	}
	var rs []NodeRoute
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", RoutesAnnotation, err)
	}
	for _, r := range rs {
		if !r.CIDR.IsValid() || !r.Via.IsValid() || r.CIDR.Addr().Is4() != r.Via.Is4() {
			return nil, fmt.Errorf("annotation %s: route %s via %s: not a route", RoutesAnnotation, r.CIDR, r.Via)
		}
	}
	return rs, nil
}

func formatRoutes(rs []NodeRoute) string {
	sort.Slice(rs, func(i, j int) bool { return rs[i].CIDR.String() < rs[j].CIDR.String() })
	b, _ := json.Marshal(rs) // prefixes and addresses always marshal
	return string(b)
}

// Routes returns the provider itself: it keeps the nodes' routes.
func (p *Provider) Routes() (cloudprovider.Routes, bool) { return p, true }

// ListRoutes lists the routes recorded on the nodes. A route whose
// address is no longer its node's is left out, so that the route
// controller creates it again through the node's current address.
func (p *Provider) ListRoutes(_ context.Context, _ string) ([]*cloudprovider.Route, error) {
	nodes, err := p.nodeLister()
	if err != nil {
		return nil, err
	}
	list, err := nodes.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var out []*cloudprovider.Route
	for _, n := range list {
		rs, err := ParseRoutes(n.Annotations[RoutesAnnotation])
		if err != nil {
			continue // rewritten whole by the next CreateRoute
		}
		for _, r := range rs {
			if via, err := routeVia(r.CIDR, n.Status.Addresses); err != nil || via != r.Via {
				continue
			}
			out = append(out, &cloudprovider.Route{
				Name:                n.Name + "-" + r.CIDR.String(),
				TargetNode:          types.NodeName(n.Name),
				DestinationCIDR:     r.CIDR.String(),
				TargetNodeAddresses: slices.Clone(n.Status.Addresses),
			})
		}
	}
	return out, nil
}

// CreateRoute records the route on its node, through the node's
// InternalIP of the CIDR's family.
func (p *Provider) CreateRoute(ctx context.Context, _ string, _ string, route *cloudprovider.Route) error {
	cidr, err := netip.ParsePrefix(route.DestinationCIDR)
	if err != nil {
		return fmt.Errorf("route to %q: %w", route.DestinationCIDR, err)
	}
	cidr = cidr.Masked()
	return p.editRoutes(ctx, string(route.TargetNode), func(n *corev1.Node, rs []NodeRoute) ([]NodeRoute, error) {
		addrs := route.TargetNodeAddresses
		if len(n.Status.Addresses) > 0 {
			addrs = n.Status.Addresses
		}
		via, err := routeVia(cidr, addrs)
		if err != nil {
			return nil, err
		}
		rs = slices.DeleteFunc(rs, func(r NodeRoute) bool { return r.CIDR == cidr })
		return append(rs, NodeRoute{CIDR: cidr, Via: via}), nil
	})
}

// DeleteRoute removes the route from its node's record; a node that is
// gone has no routes left.
func (p *Provider) DeleteRoute(ctx context.Context, _ string, route *cloudprovider.Route) error {
	cidr, err := netip.ParsePrefix(route.DestinationCIDR)
	if err != nil {
		return fmt.Errorf("route to %q: %w", route.DestinationCIDR, err)
	}
	err = p.editRoutes(ctx, string(route.TargetNode), func(_ *corev1.Node, rs []NodeRoute) ([]NodeRoute, error) {
		return slices.DeleteFunc(rs, func(r NodeRoute) bool { return r.CIDR == cidr.Masked() }), nil
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// editRoutes rewrites a node's route record with edit, retrying on
// conflicts (the resourceVersion guards against a concurrent writer).
func (p *Provider) editRoutes(ctx context.Context, node string, edit func(*corev1.Node, []NodeRoute) ([]NodeRoute, error)) error {
	client, err := p.apiClient()
	if err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		rs, _ := ParseRoutes(n.Annotations[RoutesAnnotation]) // a garbled record is replaced
		rs, err = edit(n, rs)
		if err != nil {
			return err
		}
		formatted := formatRoutes(rs)
		cur, has := n.Annotations[RoutesAnnotation]
		if (len(rs) == 0 && !has) || (len(rs) > 0 && has && cur == formatted) {
			return nil
		}
		val := any(formatted)
		if len(rs) == 0 {
			val = nil // merge patch: remove the annotation
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": n.ResourceVersion,
			"annotations":     map[string]any{RoutesAnnotation: val},
		}})
		if err != nil {
			return err
		}
		_, err = client.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}

// routeVia is the node address a route to cidr goes through: its
// InternalIP of cidr's family.
func routeVia(cidr netip.Prefix, addrs []corev1.NodeAddress) (netip.Addr, error) {
	for _, a := range addrs {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() == cidr.Addr().Is4() {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("the node has no InternalIP of the family of %s", cidr)
}
