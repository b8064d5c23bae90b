package apiregistration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/transport"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	aggregatorinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions"
	aggregatorlisters "k8s.io/kube-aggregator/pkg/client/listers/apiregistration/v1"

	"github.com/kemudi/kemudi/internal/controller"
	"github.com/kemudi/kemudi/internal/registry/apiregistration/apiservice"
	"github.com/kemudi/kemudi/internal/webhookclient"
)

// recheck is how often a remote APIService's server is checked again
// when nothing changed, as upstream's availability controller does.
const recheck = 30 * time.Second

// Upstream's reasons for the Available condition.
const (
	ReasonLocal            = "Local"
	ReasonPassed           = "Passed"
	ReasonServiceNotFound  = "ServiceNotFound"
	ReasonServicePortError = "ServicePortError"
	ReasonServiceAccess    = "ServiceAccessError"
	ReasonMissingEndpoints = "MissingEndpoints"
	ReasonFailedDiscovery  = "FailedDiscoveryCheck"
)

// availability keeps every APIService's Available condition true to
// whether its server answers.
type availability struct {
	client   aggregatorclient.Interface
	services aggregatorlisters.APIServiceLister
	svcs     corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	opts     Options
	loop     *controller.Loop
	synced   []cache.InformerSynced
	check    *discoveryChecker
}

func newAvailability(client aggregatorclient.Interface, aggInformers aggregatorinformers.SharedInformerFactory, kubeInformers informers.SharedInformerFactory, opts Options) (*availability, error) {
	apisvcs := aggInformers.Apiregistration().V1().APIServices()
	svcs := kubeInformers.Core().V1().Services()
	slices := kubeInformers.Discovery().V1().EndpointSlices()
	a := &availability{
		client: client, services: apisvcs.Lister(), svcs: svcs.Lister(), slices: slices.Lister(), opts: opts,
		synced: []cache.InformerSynced{apisvcs.Informer().HasSynced, svcs.Informer().HasSynced, slices.Informer().HasSynced},
		check:  newDiscoveryChecker(opts),
	}
	a.loop = controller.NewLoop("apiservice-availability", a.sync, opts.Log)
	enqueue := func(obj interface{}) {
		if svc, ok := controller.DeletedObject[*apiregistrationv1.APIService](obj); ok {
			a.loop.Queue.Add(svc.Name)
		}
	}
	if _, err := apisvcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj interface{}) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, err
	}
	// A service or its endpoints changing re-checks the APIServices on it.
	onService := func(namespace, name string) {
		all, err := a.services.List(labels.Everything())
		if err != nil {
			return
		}
		for _, s := range all {
			if ref := s.Spec.Service; ref != nil && ref.Namespace == namespace && ref.Name == name {
				a.loop.Queue.Add(s.Name)
			}
		}
	}
	serviceHandler := func(obj interface{}) {
		if s, ok := controller.DeletedObject[*corev1.Service](obj); ok {
			onService(s.Namespace, s.Name)
		}
	}
	sliceHandler := func(obj interface{}) {
		if es, ok := controller.DeletedObject[*discoveryv1.EndpointSlice](obj); ok && es.Labels[discoveryv1.LabelServiceName] != "" {
			onService(es.Namespace, es.Labels[discoveryv1.LabelServiceName])
		}
	}
	for inf, h := range map[cache.SharedIndexInformer]func(interface{}){svcs.Informer(): serviceHandler, slices.Informer(): sliceHandler} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: h, UpdateFunc: func(_, obj interface{}) { h(obj) }, DeleteFunc: h,
		}); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *availability) sync(ctx context.Context, name string) error {
	svc, err := a.services.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	cond := a.condition(ctx, svc)
	if err := a.setCondition(ctx, svc, cond); err != nil {
		return err
	}
	if svc.Spec.Service == nil {
		return nil
	}
	return controller.RequeueAfter(recheck)
}

// condition is what the Available condition of svc should be now.
func (a *availability) condition(ctx context.Context, svc *apiregistrationv1.APIService) apiregistrationv1.APIServiceCondition {
	if svc.Spec.Service == nil {
		return helper.NewLocalAvailableAPIServiceCondition()
	}
	cond := apiregistrationv1.APIServiceCondition{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionFalse}
	addr, reason, msg := a.endpoint(svc)
	if reason != "" {
		cond.Reason, cond.Message = reason, msg
		return cond
	}
	if err := a.check.check(ctx, svc, addr); err != nil {
		cond.Reason, cond.Message = ReasonFailedDiscovery, err.Error()
		return cond
	}
	cond.Status, cond.Reason, cond.Message = apiregistrationv1.ConditionTrue, ReasonPassed, "all checks passed"
	return cond
}

// endpoint finds a ready endpoint of the APIService's service for its
// port, or says why there is none with upstream's reason and message.
func (a *availability) endpoint(svc *apiregistrationv1.APIService) (addr, reason, msg string) {
	ref := svc.Spec.Service
	port := int32(443)
	if ref.Port != nil {
		port = *ref.Port
	}
	s, err := a.svcs.Services(ref.Namespace).Get(ref.Name)
	if apierrors.IsNotFound(err) {
		return "", ReasonServiceNotFound, fmt.Sprintf("service/%s in %q is not present", ref.Name, ref.Namespace)
	}
	if err != nil {
		return "", ReasonServiceAccess, fmt.Sprintf("service/%s in %q cannot be checked due to: %v", ref.Name, ref.Namespace, err)
	}
	if s.Spec.Type == corev1.ServiceTypeExternalName {
		return "", ReasonServicePortError, fmt.Sprintf("service/%s in %q is an ExternalName service and has no endpoints", ref.Name, ref.Namespace)
	}
	var sp *corev1.ServicePort
	for i := range s.Spec.Ports {
		if s.Spec.Ports[i].Port == port {
			sp = &s.Spec.Ports[i]
		}
	}
	if sp == nil {
		return "", ReasonServicePortError, fmt.Sprintf("service/%s in %q is not listening on port %d", ref.Name, ref.Namespace, port)
	}
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: ref.Name})
	slices, err := a.slices.EndpointSlices(ref.Namespace).List(sel)
	if err != nil {
		return "", ReasonServiceAccess, fmt.Sprintf("endpoints for service/%s in %q cannot be listed: %v", ref.Name, ref.Namespace, err)
	}
	for _, es := range slices {
		if addrs := webhookclient.ReadyAddresses(es, sp.Name); len(addrs) > 0 {
			return addrs[0], "", ""
		}
	}
	return "", ReasonMissingEndpoints, fmt.Sprintf("endpoints for service/%s in %q have no addresses with port name %q", ref.Name, ref.Namespace, sp.Name)
}

// setCondition writes cond to svc's status when it changed, keeping the
// transition time while the status stays.
func (a *availability) setCondition(ctx context.Context, svc *apiregistrationv1.APIService, cond apiregistrationv1.APIServiceCondition) error {
	old := helper.GetAPIServiceConditionByType(svc, apiregistrationv1.Available)
	if old != nil && old.Status == cond.Status && old.Reason == cond.Reason && old.Message == cond.Message {
		return nil
	}
	cond.LastTransitionTime = metav1.Now()
	updated := svc.DeepCopy()
	helper.SetAPIServiceCondition(updated, cond)
	_, err := a.client.ApiregistrationV1().APIServices().UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// discoveryChecker asks an aggregated server for its group version's
// discovery document, as the front proxy (upstream's check).
type discoveryChecker struct {
	opts Options
}

func newDiscoveryChecker(opts Options) *discoveryChecker { return &discoveryChecker{opts: opts} }

// check GETs /apis/<group>/<version> from addr with upstream's identity
// for it (system:kube-aggregator in system:masters) and a 5 s budget.
func (c *discoveryChecker) check(ctx context.Context, svc *apiregistrationv1.APIService, addr string) error {
	url := "https://" + addr + "/apis/" + svc.Spec.Group + "/" + svc.Spec.Version
	tlsConfig, err := apiservice.ClientTLS(svc, c.opts.ProxyClientCert)
	if err != nil {
		return fmt.Errorf("failing or missing response from %s: %v", url, err)
	}
	dial := c.opts.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	rt := &http.Transport{DialContext: dial, TLSClientConfig: tlsConfig, DisableKeepAlives: true, TLSHandshakeTimeout: 5 * time.Second}
	defer rt.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "*/*")
	transport.SetAuthProxyHeaders(req, "system:kube-aggregator", "", []string{"system:masters"}, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("failing or missing response from %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode < http.StatusOK || resp.StatusCode >= http.StatusMultipleChoices {
		return fmt.Errorf("failing or missing response from %s: bad status from %s: %d", url, url, resp.StatusCode)
	}
	return nil
}
