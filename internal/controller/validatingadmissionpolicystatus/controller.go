// Package validatingadmissionpolicystatus is the ValidatingAdmissionPolicy
// status controller: it type-checks each policy's expressions against
// the schemas of the kinds its matchConstraints name (and of its
// paramKind) and writes what does not type-check into
// status.typeChecking.expressionWarnings, with status.observedGeneration,
// as upstream's. Type checking is upstream's library; the schemas come
// from the API server's OpenAPI v3, the kinds from its discovery, as any
// client reads them (CRD kinds included).
package validatingadmissionpolicystatus

import (
	"context"
	"log/slog"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	applyv1 "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/admissionregistration/v1"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers, as upstream's.
const Name = "validatingadmissionpolicy-status"

// fieldManager owns the status fields the controller writes.
const fieldManager = "validatingadmissionpolicy-status"

const workers = 5

// Controller writes policies' type checking status.
type Controller struct {
	client   kubernetes.Interface
	policies listersv1.ValidatingAdmissionPolicyLister
	checker  *validating.TypeChecker
	log      *slog.Logger
	loop     *controller.Loop
}

// New builds the controller.
func New(c *controller.Context) (*Controller, error) {
	disc := memory.NewMemCacheClient(c.Client.Discovery())
	inf := c.Informers.Admissionregistration().V1().ValidatingAdmissionPolicies()
	log := c.Logger(Name)
	sc := &Controller{
		client:   c.Client,
		policies: inf.Lister(),
		checker: &validating.TypeChecker{
			SchemaResolver: &resolver.ClientDiscoveryResolver{Discovery: c.Client.Discovery()},
			// Reset by the checker when a kind is not found (a CRD
			// installed since).
			RestMapper: restmapper.NewDeferredDiscoveryRESTMapper(disc),
		},
		log: log,
	}
	sc.loop = c.NewLoop(Name, sc.sync, log)
	enqueue := func(obj interface{}) {
		if p, ok := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
			sc.loop.Enqueue(p)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	return sc, nil
}

// Run keeps the policies' status current until ctx ends.
func (sc *Controller) Run(ctx context.Context) error {
	sc.loop.Run(ctx, workers)
	return nil
}

// sync type-checks a policy whose spec changed since its status was
// written, and applies the warnings (none clears them).
func (sc *Controller) sync(ctx context.Context, key string) error {
	p, err := sc.policies.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.Generation <= p.Status.ObservedGeneration {
		return nil
	}
	warnings := sc.checker.Check(p)
	ws := make([]*applyv1.ExpressionWarningApplyConfiguration, 0, len(warnings))
	for _, w := range warnings {
		ws = append(ws, applyv1.ExpressionWarning().WithFieldRef(w.FieldRef).WithWarning(w.Warning))
	}
	status := applyv1.ValidatingAdmissionPolicy(p.Name).WithStatus(applyv1.ValidatingAdmissionPolicyStatus().
		WithObservedGeneration(p.Generation).
		WithTypeChecking(applyv1.TypeChecking().WithExpressionWarnings(ws...)))
	_, err = sc.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().ApplyStatus(ctx, status, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
	return err
}
