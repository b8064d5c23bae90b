package serviceaccount

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/controller"
)

// TokensName is the token controller's name in --controllers.
const TokensName = "serviceaccount-token"

// secretTokenLifetime is what a legacy token secret's token is asked for:
// the longest TokenRequest allows (legacy tokens never expired; this one
// ends with its secret or its account instead).
const secretTokenLifetime = int64(1) << 32

// Tokens fills in service account token secrets.
type Tokens struct {
	client   kubernetes.Interface
	rootCA   []byte
	secrets  corelisters.SecretLister
	accounts corelisters.ServiceAccountLister
	loop     *controller.Loop
	log      *slog.Logger
}

// NewTokens builds the token controller.
func NewTokens(c *controller.Context) (*Tokens, error) {
	secInf := c.Informers.Core().V1().Secrets()
	saInf := c.Informers.Core().V1().ServiceAccounts()
	t := &Tokens{
		client:   c.Client,
		rootCA:   c.Options.RootCA,
		secrets:  secInf.Lister(),
		accounts: saInf.Lister(),
		log:      c.Logger(TokensName),
	}
	t.loop = c.NewLoop(TokensName, t.sync, t.log)
	isToken := func(obj interface{}) bool {
		s, ok := controller.DeletedObject[*corev1.Secret](obj)
		return ok && s.Type == corev1.SecretTypeServiceAccountToken
	}
	if _, err := secInf.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: isToken,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    t.loop.Enqueue,
			UpdateFunc: func(_, obj interface{}) { t.loop.Enqueue(obj) },
		},
	}); err != nil {
		return nil, err
	}
	// An account's deletion takes its token secrets with it.
	if _, err := saInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj interface{}) {
			sa, ok := controller.DeletedObject[*corev1.ServiceAccount](obj)
			if !ok {
				return
			}
			secrets, err := t.secrets.Secrets(sa.Namespace).List(labels.Everything())
			if err != nil {
				return
			}
			for _, s := range secrets {
				if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == sa.Name {
					t.loop.Enqueue(s)
				}
			}
		},
	}); err != nil {
		return nil, err
	}
	return t, nil
}

// Run fills secrets until ctx ends.
func (t *Tokens) Run(ctx context.Context) error {
	t.loop.Run(ctx, 4)
	return nil
}

func (t *Tokens) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return controller.Terminal(err)
	}
	secret, err := t.secrets.Secrets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if secret.Type != corev1.SecretTypeServiceAccountToken || secret.Annotations[corev1.ServiceAccountNameKey] == "" {
		return nil
	}
	sa, err := t.account(ctx, secret)
	if err != nil {
		return err
	}
	if sa == nil {
		// The account is gone (or is another one now): so is its token.
		uid := secret.UID
		err := t.client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
		if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			t.log.Info("deleted the token secret of a missing service account", "secret", key, "serviceAccount", secret.Annotations[corev1.ServiceAccountNameKey])
			return nil
		}
		return err
	}
	if !t.needsUpdate(secret) {
		return nil
	}
	live, err := t.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if live.ResourceVersion != secret.ResourceVersion || !t.needsUpdate(live) {
		return nil // an update event will bring the newer secret
	}
	if live.Data == nil {
		live.Data = map[string][]byte{}
	}
	if live.Annotations == nil {
		live.Annotations = map[string]string{}
	}
	if len(t.rootCA) > 0 {
		live.Data[corev1.ServiceAccountRootCAKey] = t.rootCA
	}
	if len(live.Data[corev1.ServiceAccountNamespaceKey]) == 0 {
		live.Data[corev1.ServiceAccountNamespaceKey] = []byte(ns)
	}
	if len(live.Data[corev1.ServiceAccountTokenKey]) == 0 {
		lifetime := secretTokenLifetime
		tr, err := t.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &lifetime,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: live.Name, UID: live.UID},
		}}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) {
			return nil // the account or the secret went meanwhile
		}
		if err != nil {
			return fmt.Errorf("request a token for secret %s: %w", key, err)
		}
		live.Data[corev1.ServiceAccountTokenKey] = []byte(tr.Status.Token)
	}
	live.Annotations[corev1.ServiceAccountNameKey] = sa.Name
	live.Annotations[corev1.ServiceAccountUIDKey] = string(sa.UID)
	_, err = t.client.CoreV1().Secrets(ns).Update(ctx, live, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func (t *Tokens) needsUpdate(s *corev1.Secret) bool {
	return len(s.Data[corev1.ServiceAccountTokenKey]) == 0 ||
		len(s.Data[corev1.ServiceAccountNamespaceKey]) == 0 ||
		(len(t.rootCA) > 0 && !bytes.Equal(s.Data[corev1.ServiceAccountRootCAKey], t.rootCA))
}

// account returns the secret's service account, nil when it does not
// exist or is not the one the secret names by UID.
func (t *Tokens) account(ctx context.Context, secret *corev1.Secret) (*corev1.ServiceAccount, error) {
	name, uid := secret.Annotations[corev1.ServiceAccountNameKey], secret.Annotations[corev1.ServiceAccountUIDKey]
	sa, err := t.accounts.ServiceAccounts(secret.Namespace).Get(name)
	if apierrors.IsNotFound(err) {
		// A moment-old account may not be cached yet.
		sa, err = t.client.CoreV1().ServiceAccounts(secret.Namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if uid != "" && string(sa.UID) != uid {
		return nil, nil
	}
	return sa, nil
}
