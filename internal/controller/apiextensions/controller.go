// Package apiextensions runs the controllers of upstream's apiextensions
// server that give CustomResourceDefinitions their status: naming (which
// names a CRD gets, NamesAccepted), establishing (Established: the API
// server serves the CRD's resources) and the cleanup finalizer (a deleted
// CRD's objects go first, then the CRD). They run in the API server's
// process and talk to it only through the API.
package apiextensions

import (
	"context"
	"fmt"
	"log/slog"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsinformers "k8s.io/apiextensions-apiserver/pkg/client/informers/externalversions"
	listers "k8s.io/apiextensions-apiserver/pkg/client/listers/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
	crdregistry "github.com/kemudi/kemudi/internal/registry/apiextensions/customresourcedefinition"
)

// workers is how many CRDs are reconciled at once (100 CRDs applied at
// once are established within seconds).
const workers = 4

// Controller reconciles the status of every CRD.
type Controller struct {
	client  apiextensionsclient.Interface
	dynamic dynamic.Interface
	crds    listers.CustomResourceDefinitionLister
	loop    *controller.Loop
	log     *slog.Logger
}

// Run runs the controllers against the API server at cfg until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, log *slog.Logger) error {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("apiextensions client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	factory := apiextensionsinformers.NewSharedInformerFactory(client, 0)
	informer := factory.Apiextensions().V1().CustomResourceDefinitions()
	c := &Controller{client: client, dynamic: dyn, crds: informer.Lister(), log: log}
	c.loop = controller.NewLoop("crd", c.sync, log)
	if err := informer.Informer().SetTransform(crdregistry.WithoutSchemas); err != nil {
		return err
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: c.updated,
		DeleteFunc: c.enqueueGroup,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
		return ctx.Err()
	}
	c.loop.Run(ctx, workers)
	return nil
}

func (c *Controller) enqueue(obj interface{}) {
	if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
		c.loop.Queue.Add(crd.Name)
	}
}

// updated queues the CRD, and the rest of its group when it gave up a
// name it held. Queueing the whole group on every change (100 CRDs of
// one group installed at once: 10,000 syncs) is what upstream avoids as
// well: it requeues the group after a CRD's accepted names change and
// after a deletion.
func (c *Controller) updated(old, obj interface{}) {
	before, ok1 := old.(*apiextensionsv1.CustomResourceDefinition)
	after, ok2 := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok1 || !ok2 {
		c.enqueueGroup(obj)
		return
	}
	if releasesNames(before.Status.AcceptedNames, after.Status.AcceptedNames) {
		c.enqueueGroup(obj)
		return
	}
	c.loop.Queue.Add(after.Name)
}

// enqueueGroup queues the CRD and every other CRD of its group: a name one
// gives up may be the name another waits for.
func (c *Controller) enqueueGroup(obj interface{}) {
	crd, ok := controller.DeletedObject[*apiextensionsv1.CustomResourceDefinition](obj)
	if !ok {
		return
	}
	c.loop.Queue.Add(crd.Name)
	all, err := c.crds.List(everything())
	if err != nil {
		return
	}
	for _, other := range all {
		if other.Spec.Group == crd.Spec.Group && other.Name != crd.Name {
			c.loop.Queue.Add(other.Name)
		}
	}
}

func (c *Controller) sync(ctx context.Context, name string) error {
	crd, err := c.crds.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if crd.DeletionTimestamp != nil {
		return c.finalize(ctx, crd.DeepCopy())
	}
	return c.name(ctx, crd)
}
