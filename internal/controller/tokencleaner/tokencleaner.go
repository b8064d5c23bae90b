// Package tokencleaner is upstream's token cleaner: it deletes bootstrap
// token Secrets in kube-system once their expiration has passed.
package tokencleaner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
	"github.com/kemudi/kemudi/internal/controller"
)

// Name is the controller's name in --controllers.
const Name = "tokencleaner"

// Controller deletes expired bootstrap tokens.
type Controller struct {
	client  kubernetes.Interface
	secrets corelisters.SecretLister
	clock   clock.PassiveClock
	log     *slog.Logger
	loop    *controller.Loop
}

// New builds the controller.
func New(c *controller.Context) (*Controller, error) {
	inf := c.Informers.Core().V1().Secrets()
	log := c.Logger(Name)
	tc := &Controller{client: c.Client, secrets: inf.Lister(), clock: c.Clock, log: log}
	tc.loop = c.NewLoop(Name, tc.sync, log)
	enqueue := func(obj interface{}) {
		if s, ok := obj.(*corev1.Secret); ok && isToken(s) {
			tc.loop.Enqueue(s)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	return tc, nil
}

func isToken(s *corev1.Secret) bool {
	return s.Namespace == bootstrap.Namespace && s.Type == corev1.SecretTypeBootstrapToken && strings.HasPrefix(s.Name, bootstrap.SecretPrefix)
}

// Run deletes expired tokens until ctx ends.
func (tc *Controller) Run(ctx context.Context) error {
	tc.loop.Run(ctx, 1)
	return nil
}

func (tc *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	s, err := tc.secrets.Secrets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.DeletionTimestamp != nil || !isToken(s) {
		return nil
	}
	exp, ok := bootstrap.Expiration(s)
	if !ok {
		return nil
	}
	if left := exp.Sub(tc.clock.Now()); left > 0 {
		return controller.RequeueAfter(left)
	}
	err = tc.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete expired bootstrap token %s: %w", key, err)
	}
	tc.log.Info("deleted expired bootstrap token", "secret", key, "expired", exp.Format(time.RFC3339))
	return nil
}
