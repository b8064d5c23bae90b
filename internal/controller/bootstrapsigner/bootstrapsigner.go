// Package bootstrapsigner is upstream's bootstrap signer: it keeps
// kube-public/cluster-info signed by every bootstrap token that allows
// signing (usage-bootstrap-signing), one detached JWS of its kubeconfig
// per token under jws-kubeconfig-<token id>, so that a node joining with
// a token can trust the CA and address it reads there without a
// credential (kubeadm join's token discovery). Upstream's
// kube-controller-manager leaves it off unless named and kubeadm turns it
// on; kemudi runs it by default, as the token cleaner.
package bootstrapsigner

import (
	"context"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers.
const Name = "bootstrapsigner"

// key is the one key the loop syncs: every change of a token or of
// cluster-info comes down to re-signing cluster-info.
const key = metav1.NamespacePublic + "/" + bootstrap.ClusterInfoName

// Controller signs cluster-info.
type Controller struct {
	client     kubernetes.Interface
	secrets    corelisters.SecretLister
	configMaps corelisters.ConfigMapLister
	clock      clock.PassiveClock
	log        *slog.Logger
	loop       *controller.Loop
}

// New builds the controller.
func New(c *controller.Context) (*Controller, error) {
	log := c.Logger(Name)
	secrets, configMaps := c.Informers.Core().V1().Secrets(), c.Informers.Core().V1().ConfigMaps()
	bs := &Controller{client: c.Client, secrets: secrets.Lister(), configMaps: configMaps.Lister(), clock: c.Clock, log: log}
	bs.loop = c.NewLoop(Name, bs.sync, log)
	poke := func(interface{}) { bs.loop.Queue.Add(key) }
	handlers := cache.ResourceEventHandlerFuncs{AddFunc: poke, UpdateFunc: func(_, obj interface{}) { poke(obj) }, DeleteFunc: poke}
	if _, err := secrets.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj interface{}) bool {
			s, ok := controller.DeletedObject[*corev1.Secret](obj)
			return ok && s.Namespace == bootstrap.Namespace && s.Type == corev1.SecretTypeBootstrapToken
		},
		Handler: handlers,
	}); err != nil {
		return nil, err
	}
	if _, err := configMaps.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj interface{}) bool {
			cm, ok := controller.DeletedObject[*corev1.ConfigMap](obj)
			return ok && cm.Namespace == metav1.NamespacePublic && cm.Name == bootstrap.ClusterInfoName
		},
		Handler: handlers,
	}); err != nil {
		return nil, err
	}
	return bs, nil
}

// Run keeps cluster-info signed until ctx ends.
func (bs *Controller) Run(ctx context.Context) error {
	bs.loop.Run(ctx, 1)
	return nil
}

func (bs *Controller) sync(ctx context.Context, _ string) error {
	cm, err := bs.configMaps.ConfigMaps(metav1.NamespacePublic).Get(bootstrap.ClusterInfoName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	content, ok := cm.Data[bootstrap.KeyKubeconfig]
	if !ok {
		return nil
	}
	all, err := bs.secrets.Secrets(bootstrap.Namespace).List(labels.Everything())
	if err != nil {
		return err
	}
	now := bs.clock.Now()
	want := Signatures(content, all, now)
	data, changed := signed(cm.Data, want)
	if changed {
		cm = cm.DeepCopy()
		cm.Data = data
		if _, err := bs.client.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("sign %s: %w", key, err)
		}
		bs.log.Debug("signed cluster-info", "tokens", len(want))
	}
	return controller.RequeueSoonest(nextExpiry(all, now))
}
