package serviceaccount

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the default service account controller's name in --controllers.
const Name = "serviceaccount"

// DefaultName is the account every namespace gets.
const DefaultName = "default"

// Controller ensures the default ServiceAccount of every namespace.
type Controller struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	loop       *controller.Loop
}

// New builds the service account controller.
func New(c *controller.Context) (*Controller, error) {
	nsInf := c.Informers.Core().V1().Namespaces()
	saInf := c.Informers.Core().V1().ServiceAccounts()
	sc := &Controller{
		client:     c.Client,
		namespaces: nsInf.Lister(),
		accounts:   saInf.Lister(),
	}
	log := c.Logger(Name)
	sc.loop = c.NewLoop(Name, sc.sync, log)
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    sc.loop.Enqueue,
		UpdateFunc: func(_, obj interface{}) { sc.loop.Enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	if _, err := saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj interface{}) { enqueueNamespaceOf(sc.loop, obj, log) },
	}); err != nil {
		return nil, err
	}
	return sc, nil
}

// enqueueNamespaceOf queues the namespace of a deleted object.
func enqueueNamespaceOf(l *controller.Loop, obj interface{}, log *slog.Logger) {
	o, ok := controller.DeletedObject[metav1.Object](obj)
	if !ok {
		log.Warn("unexpected deleted object", "type", obj)
		return
	}
	l.Queue.Add(o.GetNamespace())
}

// Run syncs until ctx ends.
func (sc *Controller) Run(ctx context.Context) error {
	sc.loop.Run(ctx, 4)
	return nil
}

func (sc *Controller) sync(ctx context.Context, name string) error {
	ns, err := sc.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.Status.Phase != corev1.NamespaceActive && ns.Status.Phase != "" {
		return nil
	}
	if ns.DeletionTimestamp != nil {
		return nil
	}
	if _, err := sc.accounts.ServiceAccounts(name).Get(DefaultName); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	_, err = sc.client.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: DefaultName}}, metav1.CreateOptions{})
	if err == nil || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil
	}
	return err
}
