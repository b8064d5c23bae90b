package apiregistration

import (
	"context"
	"reflect"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	apiextensionslisters "k8s.io/apiextensions-apiserver/pkg/client/listers/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregatorclient "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	aggregatorinformers "k8s.io/kube-aggregator/pkg/client/informers/externalversions"
	aggregatorlisters "k8s.io/kube-aggregator/pkg/client/listers/apiregistration/v1"

	"github.com/kemudi/kemudi/internal/controller"
	crdregistry "github.com/kemudi/kemudi/internal/registry/apiextensions/customresourcedefinition"
)

// AutoManagedLabel marks the Local APIServices this controller keeps:
// "onstart" for the built-in group versions, "true" for CRDs' (upstream's
// autoregister controller's label and values).
const AutoManagedLabel = "kube-aggregator.kubernetes.io/automanaged"

// registration keeps a Local APIService for every group version the API
// server serves itself: the built-in ones (upstream's autoregister) and
// every served version of a CRD (upstream's crdregistration).
type registration struct {
	client   aggregatorclient.Interface
	services aggregatorlisters.APIServiceLister
	crds     apiextensionslisters.CustomResourceDefinitionLister
	builtIn  map[string]*apiregistrationv1.APIService
	loop     *controller.Loop
	synced   []cache.InformerSynced
}

func newRegistration(client aggregatorclient.Interface, aggInformers aggregatorinformers.SharedInformerFactory, extInformers apiextensionsinformers.SharedInformerFactory, opts Options) (*registration, error) {
	apisvcs := aggInformers.Apiregistration().V1().APIServices()
	crds := extInformers.Apiextensions().V1().CustomResourceDefinitions()
	if err := crds.Informer().SetTransform(crdregistry.WithoutSchemas); err != nil {
		return nil, err
	}
	r := &registration{
		client: client, services: apisvcs.Lister(), crds: crds.Lister(),
		builtIn: map[string]*apiregistrationv1.APIService{},
		synced:  []cache.InformerSynced{apisvcs.Informer().HasSynced, crds.Informer().HasSynced},
	}
	for _, gv := range opts.BuiltIn {
		group, version := GroupPriority(gv)
		svc := localAPIService(gv, group, version, "onstart")
		r.builtIn[svc.Name] = svc
	}
	r.loop = controller.NewLoop("apiservice-registration", r.sync, opts.Log)
	for name := range r.builtIn {
		r.loop.Queue.Add(name)
	}
	onCRD := func(obj interface{}) {
		crd, ok := controller.DeletedObject[*apiextensionsv1.CustomResourceDefinition](obj)
		if !ok {
			return
		}
		for _, v := range crd.Spec.Versions {
			r.loop.Queue.Add(v.Name + "." + crd.Spec.Group)
		}
	}
	if _, err := crds.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onCRD,
		UpdateFunc: func(old, obj interface{}) {
			onCRD(old)
			onCRD(obj)
		},
		DeleteFunc: onCRD,
	}); err != nil {
		return nil, err
	}
	// An automanaged APIService changed by hand, or deleted, is put back.
	onService := func(obj interface{}) {
		if svc, ok := controller.DeletedObject[*apiregistrationv1.APIService](obj); ok && svc.Labels[AutoManagedLabel] != "" {
			r.loop.Queue.Add(svc.Name)
		}
	}
	if _, err := apisvcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onService, UpdateFunc: func(_, obj interface{}) { onService(obj) }, DeleteFunc: onService,
	}); err != nil {
		return nil, err
	}
	return r, nil
}

func localAPIService(gv schema.GroupVersion, groupPriority, versionPriority int32, managed string) *apiregistrationv1.APIService {
	return &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: gv.Version + "." + gv.Group, Labels: map[string]string{AutoManagedLabel: managed}},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: gv.Group, Version: gv.Version,
			GroupPriorityMinimum: groupPriority, VersionPriority: versionPriority,
		},
	}
}

// desired is the Local APIService name should be, or nil.
func (r *registration) desired(name string) (*apiregistrationv1.APIService, error) {
	if svc, ok := r.builtIn[name]; ok {
		return svc, nil
	}
	crds, err := r.crds.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			if v.Served && v.Name+"."+crd.Spec.Group == name {
				// Upstream's CRD priorities: below every built-in group,
				// versions ordered as Kubernetes orders them.
				return localAPIService(schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}, 1000, 100, "true"), nil
			}
		}
	}
	return nil, nil
}

func (r *registration) sync(ctx context.Context, name string) error {
	want, err := r.desired(name)
	if err != nil {
		return err
	}
	have, err := r.services.Get(name)
	if apierrors.IsNotFound(err) {
		have, err = nil, nil
	}
	if err != nil {
		return err
	}
	api := r.client.ApiregistrationV1().APIServices()
	switch {
	case want == nil && have == nil:
		return nil
	case want == nil:
		if have.Labels[AutoManagedLabel] == "" {
			return nil // someone else's
		}
		err := api.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	case have == nil:
		_, err := api.Create(ctx, want, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if have.Labels[AutoManagedLabel] == "" {
		// An APIService a user made for this group version (an
		// aggregated server) wins, as upstream leaves it alone.
		return nil
	}
	if reflect.DeepEqual(have.Spec, want.Spec) && have.Labels[AutoManagedLabel] == want.Labels[AutoManagedLabel] {
		return nil
	}
	updated := have.DeepCopy()
	updated.Spec = want.Spec
	if updated.Labels == nil {
		updated.Labels = map[string]string{}
	}
	updated.Labels[AutoManagedLabel] = want.Labels[AutoManagedLabel]
	_, err = api.Update(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		r.loop.Queue.AddRateLimited(name)
		return nil
	}
	return err
}
