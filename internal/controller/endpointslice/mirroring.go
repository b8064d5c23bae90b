package endpointslice

import (
	"context"
	"log/slog"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/kemudi/kemudi/internal/controller"
)

const (
	// MirroringName is the mirroring controller's name in --controllers.
	MirroringName = "endpointslice-mirroring"
	// MirroringManagedBy marks the slices it writes.
	MirroringManagedBy = "endpointslicemirroring-controller.k8s.io"
	// skipMirrorLabel on an Endpoints object keeps it from being mirrored
	// (the API server writes the kubernetes service's slice itself).
	skipMirrorLabel  = "endpointslice.kubernetes.io/skip-mirror"
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
	// maxMirroredPerSubset is upstream's
	// --mirroring-max-endpoints-per-subset.
	maxMirroredPerSubset = 1000
)

// Mirroring mirrors the Endpoints of services without a selector (written
// by their owners) into EndpointSlices, for the clients that read only
// slices.
type Mirroring struct {
	services  corelisters.ServiceLister
	endpoints corelisters.EndpointsLister
	slices    discoverylisters.EndpointSliceLister
	recorder  record.EventRecorder
	log       *slog.Logger
	loop      *controller.Loop
	tracker   *tracker
	writer    *Controller
}

// NewMirroring builds the endpointslice mirroring controller.
func NewMirroring(c *controller.Context) (*Mirroring, error) {
	svcInf := c.Informers.Core().V1().Services()
	epInf := c.Informers.Core().V1().Endpoints()
	sliceInf := c.Informers.Discovery().V1().EndpointSlices()
	m := &Mirroring{
		services:  svcInf.Lister(),
		endpoints: epInf.Lister(),
		slices:    sliceInf.Lister(),
		recorder:  c.Recorder("endpointslice-mirroring-controller.k8s.io"),
		log:       c.Logger(MirroringName),
		tracker:   newTracker(),
	}
	m.loop = c.NewLoop(MirroringName, m.sync, m.log)
	// The writes go through the same code as the endpointslice
	// controller's, with this controller's tracker and recorder.
	m.writer = &Controller{client: c.Client, recorder: m.recorder, tracker: m.tracker}
	if _, err := epInf.Informer().AddEventHandler(m.loop.Handlers()); err != nil {
		return nil, err
	}
	if _, err := svcInf.Informer().AddEventHandler(m.loop.Handlers()); err != nil {
		return nil, err
	}
	if _, err := sliceInf.Informer().AddEventHandler(sliceHandlers(MirroringManagedBy, m.tracker, m.loop.Queue.Add)); err != nil {
		return nil, err
	}
	return m, nil
}

// Run mirrors until ctx ends.
func (m *Mirroring) Run(ctx context.Context) error {
	m.loop.Run(ctx, 4)
	return nil
}

func (m *Mirroring) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	existing, err := m.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: MirroringManagedBy,
	}))
	if err != nil {
		return err
	}
	if m.tracker.stale(key, existing) {
		return errStaleCache(key)
	}
	ep, err := m.endpoints.Endpoints(ns).Get(name)
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	svc, serr := m.services.Services(ns).Get(name)
	if serr != nil && !apierrors.IsNotFound(serr) {
		return serr
	}
	if !shouldMirror(svc, ep) {
		return m.writer.write(ctx, key, nil, plan{delete: existing})
	}
	meta := sliceMeta{namespace: ns, prefix: slicePrefix(name), labels: mirroredLabels(ep), placeholder: false, owner: endpointsOwner(ep)}
	groups := mirroredGroups(ep)
	var total plan
	var mine []*discoveryv1.EndpointSlice
	for _, s := range existing {
		if ownedBy(s, ep) {
			mine = append(mine, s)
		} else {
			total.delete = append(total.delete, s)
		}
	}
	for _, t := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
		p := reconcile(meta, t, groups[t], mine, MaxEndpointsPerSlice)
		total.create = append(total.create, p.create...)
		total.update = append(total.update, p.update...)
		total.delete = append(total.delete, p.delete...)
	}
	return m.writer.write(ctx, key, nil, total)
}

// shouldMirror: Endpoints of an existing service without a selector,
// neither marked skip-mirror nor a leader election lock.
func shouldMirror(svc *corev1.Service, ep *corev1.Endpoints) bool {
	if svc == nil || ep == nil || svc.Spec.Selector != nil {
		return false
	}
	if ep.Labels[skipMirrorLabel] == "true" {
		return false
	}
	_, leader := ep.Annotations[leaderAnnotation]
	return !leader
}

// mirroredLabels are the Endpoints' labels with the slice's own.
func mirroredLabels(ep *corev1.Endpoints) map[string]string {
	out := map[string]string{}
	for k, v := range ep.Labels {
		if k == discoveryv1.LabelManagedBy || k == discoveryv1.LabelServiceName {
			continue
		}
		out[k] = v
	}
	out[discoveryv1.LabelServiceName] = ep.Name
	out[discoveryv1.LabelManagedBy] = MirroringManagedBy
	return out
}

func endpointsOwner(ep *corev1.Endpoints) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{APIVersion: "v1", Kind: "Endpoints", Name: ep.Name, UID: ep.UID, Controller: &t, BlockOwnerDeletion: &t}
}

func ownedBy(s *discoveryv1.EndpointSlice, ep *corev1.Endpoints) bool {
	for _, o := range s.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return o.UID == ep.UID && o.Kind == "Endpoints"
		}
	}
	return false
}

// mirroredGroups turns subsets into endpoint groups by address type and
// port set: ready addresses are ready endpoints, not-ready ones are not;
// at most maxMirroredPerSubset addresses of a subset are mirrored.
func mirroredGroups(ep *corev1.Endpoints) map[discoveryv1.AddressType]map[string]*group {
	out := map[discoveryv1.AddressType]map[string]*group{}
	for _, sub := range ep.Subsets {
		ports := make([]discoveryv1.EndpointPort, 0, len(sub.Ports))
		for _, p := range sub.Ports {
			name, proto, port := p.Name, p.Protocol, p.Port
			ports = append(ports, discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &port, AppProtocol: p.AppProtocol})
		}
		key := portsKey(ports)
		n := 0
		add := func(a corev1.EndpointAddress, ready bool) {
			if n >= maxMirroredPerSubset {
				return
			}
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				return
			}
			n++
			t := discoveryv1.AddressTypeIPv4
			if ip.Unmap().Is6() {
				t = discoveryv1.AddressTypeIPv6
			}
			if out[t] == nil {
				out[t] = map[string]*group{}
			}
			g, ok := out[t][key]
			if !ok {
				g = &group{ports: ports, endpoints: map[string]discoveryv1.Endpoint{}}
				out[t][key] = g
			}
			r := ready
			e := discoveryv1.Endpoint{Addresses: []string{ip.Unmap().String()}, Conditions: discoveryv1.EndpointConditions{Ready: &r}, NodeName: a.NodeName}
			if a.Hostname != "" {
				h := a.Hostname
				e.Hostname = &h
			}
			if a.TargetRef != nil {
				ref := *a.TargetRef
				e.TargetRef = &ref
			}
			g.endpoints[endpointKey(&e)] = e
		}
		for _, a := range sub.Addresses {
			add(a, true)
		}
		for _, a := range sub.NotReadyAddresses {
			add(a, false)
		}
	}
	return out
}
