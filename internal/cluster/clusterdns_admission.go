package cluster

import (
	"context"
	"fmt"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/auth/node"
)

var endpointSlices = schema.GroupResource{Group: discoveryv1.GroupName, Resource: "endpointslices"}

// nodeDNSSlices narrows what nodeServiceRBAC lets nodes write, in the
// spirit of upstream's NodeRestriction: in kube-system a node writes only
// its own kube-dns slice, and that slice names only endpoints on the node.
// Without it one node could point another node's pods at a DNS server of
// its choosing (the proxy takes an endpoint with the other node's name as
// local there).
type nodeDNSSlices struct{}

// Admit implements auth.Admission.
func (nodeDNSSlices) Admit(_ context.Context, r *auth.AdmissionRequest) error {
	if r.APIGroup != discoveryv1.GroupName || r.Resource != "endpointslices" || r.Namespace != DNSServiceNamespace || r.User == nil {
		return nil
	}
	name, ok := strings.CutPrefix(r.User.Name, node.UserPrefix)
	if !ok || !r.User.InGroup(node.Group) {
		return nil
	}
	if r.Name != dnsSliceName(name) {
		return apierrors.NewForbidden(endpointSlices, r.Name, fmt.Errorf("node %q may only write its own kube-dns slice %q", name, dnsSliceName(name)))
	}
	s, _ := r.Object.(*discoveryv1.EndpointSlice)
	if s == nil { // a delete
		return nil
	}
	if s.Labels[discoveryv1.LabelServiceName] != DNSServiceName {
		return apierrors.NewForbidden(endpointSlices, r.Name, fmt.Errorf("node %q may only write endpoints of %s", name, DNSServiceName))
	}
	for _, ep := range s.Endpoints {
		if ep.NodeName == nil || *ep.NodeName != name {
			return apierrors.NewForbidden(endpointSlices, r.Name, fmt.Errorf("node %q may only name endpoints on itself", name))
		}
	}
	return nil
}
