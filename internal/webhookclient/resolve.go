package webhookclient

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/storage"
)

// StoreResolver resolves services to endpoints from the store's cache:
// the service's port, then a ready endpoint of its EndpointSlices serving
// that port (as upstream's --enable-aggregator-routing does).
type StoreResolver struct {
	Store *storage.Store
}

// Resolve implements Resolver.
func (s StoreResolver) Resolve(ctx context.Context, namespace, name string, port int32) (string, error) {
	obj, err := s.get(ctx, storage.Prefix+"services/"+namespace+"/"+name)
	if err != nil {
		return "", fmt.Errorf("service %s/%s: %w", namespace, name, err)
	}
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return "", fmt.Errorf("service %s/%s: stored as %T", namespace, name, obj)
	}
	var svcPort *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			svcPort = &svc.Spec.Ports[i]
		}
	}
	if svcPort == nil {
		return "", fmt.Errorf("no service port %d found for service %q", port, name)
	}
	res, err := s.Store.List(ctx, storage.Prefix+"endpointslices/"+namespace+"/", storage.ListOptions{
		ResourceVersion: "0",
		Predicate: func(o runtime.Object) bool {
			es, ok := o.(*discoveryv1.EndpointSlice)
			return ok && es.Labels[discoveryv1.LabelServiceName] == name
		},
	})
	if err != nil {
		return "", fmt.Errorf("endpoint slices of %s/%s: %w", namespace, name, err)
	}
	var addrs []string
	for _, o := range res.Items {
		addrs = append(addrs, ReadyAddresses(o.(*discoveryv1.EndpointSlice), svcPort.Name)...)
	}
	if len(addrs) == 0 {
		return "", fmt.Errorf("no endpoints available for service %q", name)
	}
	return addrs[rand.IntN(len(addrs))], nil
}

func (s StoreResolver) get(ctx context.Context, key string) (runtime.Object, error) {
	obj, err := s.Store.Get(ctx, key, "0")
	if storage.HasCode(err, storage.CodeNotFound) {
		obj, err = s.Store.Get(ctx, key, "")
	}
	return obj, err
}

// ReadyAddresses are the ip:port of the ready endpoints of es that serve
// the port named portName: where a client of the service may connect.
func ReadyAddresses(es *discoveryv1.EndpointSlice, portName string) []string {
	var target int32
	for _, p := range es.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if p.Port != nil && name == portName && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) {
			target = *p.Port
		}
	}
	if target == 0 {
		return nil
	}
	var out []string
	for _, ep := range es.Endpoints {
		if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
			continue
		}
		for _, a := range ep.Addresses {
			out = append(out, net.JoinHostPort(a, strconv.Itoa(int(target))))
		}
	}
	return out
}
