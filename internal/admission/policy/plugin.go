package policy

import (
	"context"
	"log/slog"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"

	"github.com/kemudi/kemudi/internal/auth"
	"github.com/kemudi/kemudi/internal/registry"
)

// NamespaceGetter reads a namespace, for namespaceSelector and the
// `namespaceObject` CEL variable.
type NamespaceGetter interface {
	GetNamespace(ctx context.Context, name string) (*corev1.Namespace, error)
}

// Params reads the objects a binding's paramRef names, from a cache.
type Params interface {
	// Scope says whether objects of kind gvk are namespaced; ok is false
	// when the server does not serve the kind.
	Scope(gvk schema.GroupVersionKind) (namespaced, ok bool)
	// Get returns one object (namespace "" for cluster-scoped kinds), or
	// an API NotFound error.
	Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (runtime.Object, error)
	// List returns the objects sel matches.
	List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, sel labels.Selector) ([]runtime.Object, error)
}

// Config is what the plugin reads besides its policies.
type Config struct {
	Namespaces NamespaceGetter
	Params     Params
	// Authorizer answers the CEL `authorizer` variable's checks.
	Authorizer auth.Authorizer
	// Typer finds the kind of typed objects that do not carry one.
	Typer runtime.ObjectTyper
	// Resources are the built-in resources served, for the version and
	// kind of a request (custom resources carry theirs).
	Resources []*registry.Resource
	// Scheme converts built-in objects for the mutating plugin
	// (NewMutating); the validating plugin does not need it.
	Scheme *runtime.Scheme
	// CustomTypes gives the mutating plugin a custom kind's type
	// information for apply configurations (its CRD's schema); nil, or a
	// nil result, deduces types from the object.
	CustomTypes func(schema.GroupVersionKind) managedfields.TypeConverter
	Log         *slog.Logger
}

// Plugin is the ValidatingAdmissionPolicy admission plugin
// (auth.Admission). Feed keeps its policies and bindings current.
type Plugin struct {
	cfg      Config
	compiler compiler
	kinds    kinds

	policySet[*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, validating.Validator]
}

// New returns a plugin with no policies: it allows everything until
// policies and bindings are set.
func New(cfg Config) *Plugin {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &Plugin{cfg: cfg, kinds: newKinds(cfg)}
	p.init(validatingKind(&p.compiler))
	return p
}

// excluded are the resources no policy applies to, as upstream: the
// policies and bindings themselves (a bad policy could otherwise lock
// out its own fix) and the reviews, which are not stored.
var excluded = map[schema.GroupResource]bool{
	{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicies"}:       true,
	{Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicybindings"}: true,
	{Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicies"}:         true,
	{Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicybindings"}:   true,
	{Group: "authentication.k8s.io", Resource: "tokenreviews"}:                             true,
	{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}:                       true,
	{Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}:                      true,
	{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}:                  true,
	{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}:                 true,
	{Group: "authorization.k8s.io", Resource: "selfsubjectrulesreviews"}:                   true,
}

// Admit implements auth.Admission: the bound policies that match r are
// evaluated; the first denial refuses the write.
func (p *Plugin) Admit(ctx context.Context, r *auth.AdmissionRequest) error {
	s := p.bound()
	if len(s.policies) == 0 {
		return nil
	}
	if excluded[schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}] {
		return nil
	}
	return p.evaluate(ctx, s, p.kinds.request(r))
}

// kinds resolves the version and kind of a request.
type kinds struct {
	versions map[schema.GroupResource]schema.GroupVersionKind
	typer    runtime.ObjectTyper
}

func newKinds(cfg Config) kinds {
	k := kinds{versions: map[schema.GroupResource]schema.GroupVersionKind{}, typer: cfg.Typer}
	for _, r := range cfg.Resources {
		k.versions[schema.GroupResource{Group: r.GroupVersion.Group, Resource: r.Resource}] = r.GroupVersion.WithKind(r.Kind)
	}
	return k
}

// request resolves the version and kind of r: the API server gives
// them; a request that lacks them (a caller that does not) gets them from
// the served resources and the object.
func (p kinds) request(r *auth.AdmissionRequest) *request {
	gr := schema.GroupResource{Group: r.APIGroup, Resource: r.Resource}
	version, kind := r.Version, r.Kind
	if version == "" || kind.Empty() {
		obj := r.Object
		if obj == nil {
			obj = r.Old
		}
		objKind := p.kindOf(obj, r.APIGroup)
		served, ok := p.versions[gr]
		if !ok {
			served = objKind // a custom resource: its object says
		}
		if objKind.Empty() {
			objKind = served
		}
		if version == "" {
			version = served.Version
		}
		if kind.Empty() {
			kind = objKind
		}
	}
	return &request{
		AdmissionRequest: r,
		gvr:              gr.WithVersion(version),
		gvk:              kind,
		labels:           objectLabels(r.Object),
		oldLabels:        objectLabels(r.Old),
	}
}

// kindOf is obj's kind: from its TypeMeta (unstructured objects), else
// from the scheme, preferring the request's group.
func (p kinds) kindOf(obj runtime.Object, group string) schema.GroupVersionKind {
	if obj == nil {
		return schema.GroupVersionKind{}
	}
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk
	}
	if p.typer == nil {
		return schema.GroupVersionKind{}
	}
	kinds, _, err := p.typer.ObjectKinds(obj)
	if err != nil || len(kinds) == 0 {
		return schema.GroupVersionKind{}
	}
	for _, k := range kinds {
		if k.Group == group {
			return k
		}
	}
	return kinds[0]
}
