// Package registry describes the resources the API server serves. Each
// resource lives in its own package below (registry/core/pod,
// registry/apps/deployment, ...) and returns a *Resource: its identity, and
// the hooks that give it upstream's semantics (defaulting, validation, table
// columns, field selectors, subresources). The API server implements the
// verbs once, generically, and calls these hooks; a resource package never
// touches etcd or HTTP (an action that reads or writes other objects does
// it through the Store the server hands it: see Action.Run).
package registry

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Resource is one REST resource, e.g. apps/v1 deployments.
type Resource struct {
	// GroupVersion served, e.g. {Group: "apps", Version: "v1"}; Group is "" for core.
	GroupVersion schema.GroupVersion
	// Resource is the plural lower-case name used in paths: "deployments".
	Resource     string
	Kind         string
	SingularName string
	ShortNames   []string
	Categories   []string
	Namespaced   bool

	// StoragePrefix is the etcd key segment under /registry (defaults to
	// Resource). Two resources that share a prefix share storage: the
	// second one must set Convert.
	StoragePrefix string

	// New and NewList return empty typed objects of the served kind.
	New     func() runtime.Object
	NewList func() runtime.Object

	// NameValidation checks metadata.name (and generateName when prefix is
	// true); nil means DNS-1123 subdomain, as for most kinds upstream.
	NameValidation func(name string, prefix bool) []string

	// HasStatus is true when the kind has a status subresource: status is
	// cleared on create, kept on update of the main resource, and only
	// status changes on an update of /status. The generic code does this by
	// reflection on the Spec and Status fields; Hooks may refine it.
	HasStatus bool
	// AllowCreateOnUpdate lets a PUT to a missing object create it, as
	// upstream allows for leases, events, endpoints, services, limit ranges
	// and RBAC objects.
	AllowCreateOnUpdate bool
	// Deprecated, when set, is the warning every request to the resource
	// gets (as upstream warns about v1 Endpoints).
	Deprecated string
	// ReturnDeletedObject answers a delete that removed the object with
	// the object itself instead of a Status, as upstream does for pods,
	// services and a few more.
	ReturnDeletedObject bool
	// KeepStatusOnCreate keeps the status a create sends (nodes report
	// theirs when they register), instead of clearing it.
	KeepStatusOnCreate bool
	// RequireResourceVersion refuses updates without a resourceVersion
	// (upstream's AllowUnconditionalUpdate false: leases, disruption
	// budgets).
	RequireResourceVersion bool
	// OrphanByDefault makes a delete without a propagation policy orphan
	// the dependents (batch/v1 jobs), as upstream's default policy does.
	OrphanByDefault bool
	// TTL, when set, makes stored objects expire that long after their
	// last write (events, as upstream's --event-ttl).
	TTL time.Duration
	// Decorate fills in what reads return but storage does not keep
	// (e.g. apiVersion and kind of a stateful set's claim templates). It
	// gets a copy it may change.
	Decorate func(obj runtime.Object)
	// DefaultOnRead, when set, gives an object read from storage what
	// defaulting would add now (a CRD's schema may have gained defaults
	// since the object was written, and upstream defaults on every read).
	// It returns obj itself when nothing is missing, else a defaulted
	// copy: obj is shared with the storage cache and must not change.
	DefaultOnRead func(obj runtime.Object) runtime.Object
	// TracksGeneration is true when metadata.generation starts at 1 and is
	// bumped whenever anything outside metadata and status changes.
	TracksGeneration bool

	Hooks Hooks
	// StatusHooks apply to updates of the /status subresource.
	StatusHooks StatusHooks
	// StatusLike are further subresources that, like status, change only
	// status, each with hooks of its own (certificatesigningrequests/approval).
	StatusLike map[string]StatusHooks

	// Table gives the columns `kubectl get` prints; nil means NAME and AGE.
	Table *Table

	// SelectableFields returns the fields a field selector may use beyond
	// metadata.name and metadata.namespace (which the server always adds),
	// e.g. spec.nodeName and status.phase for pods. It returns a new map
	// on every call: the server adds those two to it.
	SelectableFields func(obj runtime.Object) fields.Set

	// Scale, when set, serves the /scale subresource (autoscaling/v1 Scale).
	Scale *Scale

	// Actions are subresources that take a body: most change the parent
	// in one atomic update (pods/binding), some act through the server
	// (pods/eviction, serviceaccounts/token; see Action.Run).
	Actions map[string]*Action

	// Deletion, when set, gives deletes kind-specific semantics beyond
	// finalizers (graceful pod deletion, namespace termination).
	Deletion *Deletion

	// Convert is set when this resource is a view of another resource's
	// storage (events.k8s.io/v1 events over core/v1 events).
	Convert *Convert

	// ApplyTypes is the type information server-side apply merges with
	// for a kind client-go does not know (a CRD's versions, from their
	// schemas); nil for built-in kinds.
	ApplyTypes managedfields.TypeConverter
}

// Hooks give a kind its upstream semantics. Every hook is optional.
type Hooks struct {
	// Default fills unset fields as upstream's defaulting functions do. It
	// runs on every object decoded from a request (create, update, patch
	// result) before validation.
	Default func(obj runtime.Object)
	// PrepareForCreate adjusts an object about to be created beyond what
	// the generic code does (clears status, sets generation), e.g. a
	// pod's phase Pending and QoS class.
	PrepareForCreate func(ctx context.Context, obj runtime.Object)
	// PrepareForUpdate adjusts an update of the main resource beyond what
	// the generic code does.
	PrepareForUpdate func(ctx context.Context, obj, old runtime.Object)
	// Validate checks an object on create. It must not repeat the
	// ObjectMeta checks the generic code does (name, labels, annotations,
	// finalizers, owner references).
	Validate func(ctx context.Context, obj runtime.Object) field.ErrorList
	// ValidateUpdate checks an update: immutable fields and everything
	// Validate checks.
	ValidateUpdate func(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// Warnings returns warnings to send to the client (Warning headers).
	Warnings func(ctx context.Context, obj, old runtime.Object) []string
}

// StatusHooks give the /status subresource its semantics.
type StatusHooks struct {
	// PrepareForUpdate adjusts a status update beyond the generic copy of
	// the old spec into the new object.
	PrepareForUpdate func(ctx context.Context, obj, old runtime.Object)
	// ValidateUpdate checks a status update.
	ValidateUpdate func(ctx context.Context, obj, old runtime.Object) field.ErrorList
	// Spec: the subresource changes a part of the spec, not the status
	// (pods/ephemeralcontainers); the generic copy of the old spec is
	// skipped and PrepareForUpdate keeps what may not change.
	Spec bool
	// Meta says which metadata the update takes from the request.
	Meta StatusMeta
}

// Table turns objects into the rows `kubectl get` prints, with the same
// columns as upstream's printers (including the -o wide ones, which have
// Priority 1).
type Table struct {
	Columns []metav1.TableColumnDefinition
	// Row returns the cells of one object, one per column, in order. The
	// NAME cell comes first. Values are string, int64, int32, bool, or
	// float64, as upstream's printers use.
	Row func(obj runtime.Object) ([]interface{}, error)
	// ListRow, when set, prints the rows of a list (a page) in place of
	// Row, for cells that depend on the other items, as upstream's list
	// printers do (only the newest default storage class is marked
	// "(default)"). Single objects and watch events still use Row.
	ListRow func(obj runtime.Object, items []runtime.Object) ([]interface{}, error)
	// Less, when set, orders a list's rows, as upstream's list printers
	// that sort (flow schemas in matching order); nil keeps the list's.
	Less func(a, b runtime.Object) bool
}

// Scale reads and writes the replica count behind the /scale subresource.
type Scale struct {
	// Get returns spec replicas, status replicas and the label selector
	// in string form (status.selector of autoscaling/v1 Scale).
	Get func(obj runtime.Object) (specReplicas, statusReplicas int32, selector string)
	// Set writes spec replicas.
	Set func(obj runtime.Object, replicas int32)
}

// Convert maps a view resource to the object stored for another resource.
// ctx is the request's (a watch's, for its events): a conversion that
// calls out, a CRD's webhook, ends when the client goes away.
type Convert struct {
	ToStorage   func(ctx context.Context, obj runtime.Object) (runtime.Object, error)
	FromStorage func(ctx context.Context, obj runtime.Object) (runtime.Object, error)
	// FromStorageAll, if set, converts a list's items at once (a CRD's
	// conversion webhook gets one review for a list, as upstream's).
	FromStorageAll func(ctx context.Context, objs []runtime.Object) ([]runtime.Object, error)
}

// Deletion gives a kind upstream's delete semantics beyond finalizers.
type Deletion struct {
	// GracePeriod returns how many seconds a delete waits before the object
	// goes (a pod's termination grace period; requested is the client's
	// gracePeriodSeconds). Zero deletes at once.
	GracePeriod func(obj runtime.Object, requested *int64) int64
	// Begin changes the object when its deletion starts, e.g. a namespace's
	// phase becomes Terminating.
	Begin func(obj runtime.Object)
	// Pending reports whether something besides metadata.finalizers still
	// holds the object, e.g. a namespace's spec.finalizers.
	Pending func(obj runtime.Object) bool
	// Check refuses a delete with an API error, e.g. the system
	// namespaces and priority classes, which cannot be deleted.
	Check func(obj runtime.Object) error
}
