package registry

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Action is a subresource that takes a request body: pods/binding,
// pods/eviction, serviceaccounts/token, namespaces/finalize. The server
// serves every action alike (discovery, authorization, audit, and for a
// create, admission as a create of the subresource with the body as its
// object); what the action does is Apply's or Run's.
type Action struct {
	// New returns an empty body object, e.g. &corev1.Binding{}.
	New func() runtime.Object
	// OlderBodies are further versions of the body the action accepts,
	// each converted to New's type (policy/v1beta1 Eviction).
	OlderBodies map[schema.GroupVersionKind]OlderBody

	// Apply changes obj (a copy of the stored parent) according to body,
	// in one atomic update. It returns an API error
	// (k8s.io/apimachinery/pkg/api/errors) when the action is not allowed,
	// e.g. a pod that is already bound.
	Apply func(ctx context.Context, obj runtime.Object, body runtime.Object) error
	// Response is what the client gets back from Apply: nil means a
	// Status Success (as for binding), else the returned object.
	Response func(obj runtime.Object, body runtime.Object) runtime.Object

	// Run, when set, serves the action in place of Apply: an action that
	// does not change its parent in one update but reads and writes other
	// objects through the server (an eviction charges the pod's
	// disruption budget, then deletes the pod) or makes something new (a
	// token request). It returns the answer (201 Created), or nil for a
	// Status Success, or an API error.
	Run func(ctx context.Context, call *Call) (runtime.Object, error)
}

// OlderBody is an older version of an action's body.
type OlderBody struct {
	New     func() runtime.Object
	Convert func(runtime.Object) runtime.Object
}

// Call is one request to a Run action.
type Call struct {
	// Namespace and Name are the parent's, from the request's path.
	Namespace, Name string
	// Body is the decoded request body, of the action's New type.
	Body runtime.Object
	// DryRun is true when the request asked for dryRun=All: nothing may
	// be stored or issued.
	DryRun bool
	// Store reads and writes the server's objects.
	Store Store
	// Tokens issues service account tokens; nil when the server has no
	// signing key.
	Tokens TokenIssuer
	// Warnings the action appends are sent to the client.
	Warnings []string
}

// ErrNotServed is what a Run action returns, wrapped or not, when the
// server lacks what it needs (serviceaccounts/token without a signing
// key): the request gets a 404, as for a path not served.
var ErrNotServed = errors.New("not served")

// Store is the API server's handle on stored objects for a Run action.
// Errors are API errors (a missing object is a 404 of its resource); a
// resource the server does not serve is ErrNotServed. Objects read may
// be shared with the server's cache: copy before changing them.
type Store interface {
	// Get reads one object; resourceVersion is the API's: "" reads the
	// latest, "0" whatever the cache has.
	Get(ctx context.Context, gvr schema.GroupVersionResource, namespace, name, resourceVersion string) (runtime.Object, error)
	// List reads the objects of a namespace (all, for "").
	List(ctx context.Context, gvr schema.GroupVersionResource, namespace string) ([]runtime.Object, error)
	// Update makes the server's own change to an object (change gets a
	// copy of the stored object; it is retried on a conflicting write).
	// It is no user's write: neither validated nor admitted again.
	Update(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, change func(runtime.Object) (runtime.Object, error)) (runtime.Object, error)
	// Delete deletes an object as a user's delete with opts does
	// (preconditions, grace period, finalizers, dry run), but without
	// admission: the action's request was admitted.
	Delete(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string, opts *metav1.DeleteOptions) error
}

// TokenIssuer signs service account tokens with the server's key.
type TokenIssuer interface {
	// Audiences are the API's own: a request that names none gets them.
	Audiences() []string
	// MaxExpiration caps a token's lifetime (0: no cap).
	MaxExpiration() time.Duration
	// Issue signs a token for claims, returning it and its expiry.
	Issue(claims TokenClaims, audiences []string, lifetime time.Duration) (token string, expires time.Time, err error)
}

// TokenClaims are what a service account token says: its account and
// the objects it is bound to (its "kubernetes.io" claim).
type TokenClaims struct {
	Namespace      string
	ServiceAccount TokenRef
	Pod            *TokenRef
	Secret         *TokenRef
	Node           *TokenRef
	// WarnAfter, when set, is how long after issue the token's holder
	// should have replaced it, though it lasts longer (upstream's
	// extended tokens of projected volumes).
	WarnAfter time.Duration
}

// TokenRef names an object a token is bound to.
type TokenRef struct {
	Name string
	UID  string
}
