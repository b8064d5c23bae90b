package serviceaccount

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

const (
	// RootCAName is the root CA publisher's name in --controllers.
	RootCAName = "root-ca-cert-publisher"
	// RootCAConfigMap is the ConfigMap it keeps in every namespace.
	RootCAConfigMap       = "kube-root-ca.crt"
	descriptionAnnotation = "kubernetes.io/description"
	description           = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. " +
		"No other usage is guaranteed across distributions of Kubernetes clusters."
)

// RootCAPublisher keeps kube-root-ca.crt in every namespace.
type RootCAPublisher struct {
	client     kubernetes.Interface
	rootCA     []byte
	namespaces corelisters.NamespaceLister
	configMaps corelisters.ConfigMapLister
	loop       *controller.Loop
}

// NewRootCAPublisher builds the publisher of the CA in c.Options.RootCA.
func NewRootCAPublisher(c *controller.Context) (*RootCAPublisher, error) {
	nsInf := c.Informers.Core().V1().Namespaces()
	cmInf := c.Informers.Core().V1().ConfigMaps()
	p := &RootCAPublisher{
		client:     c.Client,
		rootCA:     c.Options.RootCA,
		namespaces: nsInf.Lister(),
		configMaps: cmInf.Lister(),
	}
	log := c.Logger(RootCAName)
	p.loop = c.NewLoop(RootCAName, p.sync, log)
	if len(p.rootCA) == 0 {
		log.Warn("no root CA to publish")
		return p, nil
	}
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.loop.Enqueue,
		UpdateFunc: func(_, obj interface{}) { p.loop.Enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	isRootCA := func(obj interface{}) bool {
		cm, ok := controller.DeletedObject[*corev1.ConfigMap](obj)
		return ok && cm.Name == RootCAConfigMap
	}
	if _, err := cmInf.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: isRootCA,
		Handler: cache.ResourceEventHandlerFuncs{
			UpdateFunc: func(_, obj interface{}) { p.loop.Queue.Add(obj.(*corev1.ConfigMap).Namespace) },
			DeleteFunc: func(obj interface{}) { enqueueNamespaceOf(p.loop, obj, log) },
		},
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// Run publishes until ctx ends.
func (p *RootCAPublisher) Run(ctx context.Context) error {
	if len(p.rootCA) == 0 {
		<-ctx.Done()
		return nil
	}
	p.loop.Run(ctx, 4)
	return nil
}

func (p *RootCAPublisher) sync(ctx context.Context, name string) error {
	ns, err := p.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	data := map[string]string{"ca.crt": string(p.rootCA)}
	cm, err := p.configMaps.ConfigMaps(name).Get(RootCAConfigMap)
	if apierrors.IsNotFound(err) {
		_, err = p.client.CoreV1().ConfigMaps(name).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: RootCAConfigMap, Annotations: map[string]string{descriptionAnnotation: description}},
			Data:       data,
		}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	if reflect.DeepEqual(cm.Data, data) && cm.Annotations[descriptionAnnotation] != "" {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = data
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[descriptionAnnotation] = description
	_, err = p.client.CoreV1().ConfigMaps(name).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
