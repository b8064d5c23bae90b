package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	extapplyconfigurations "k8s.io/apiextensions-apiserver/pkg/client/applyconfiguration"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggapplyconfigurations "k8s.io/kube-aggregator/pkg/client/applyconfiguration"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kemudi/kemudi/internal/registry"
)

// fieldManagers tracks metadata.managedFields for every write, and does
// server-side apply, with apimachinery's field manager over the type
// information client-go ships for the k8s.io/api kinds.
type fieldManagers struct {
	scheme *runtime.Scheme
	once   sync.Once
	types  managedfields.TypeConverter
	// extTypes are apiextensions.k8s.io's and aggTypes
	// apiregistration.k8s.io's, which client-go does not ship.
	extTypes managedfields.TypeConverter
	aggTypes managedfields.TypeConverter

	mu       sync.Mutex
	managers map[string]*managedfields.FieldManager // by endpoint key + subresource
	// custom are the custom resources' by endpoint key + subresource,
	// replaced when a CRD's endpoint is rebuilt (its schema or
	// subresources changed).
	custom map[string]customManager
}

type customManager struct {
	ep *endpoint
	fm *managedfields.FieldManager
}

func newFieldManagers(scheme *runtime.Scheme) *fieldManagers {
	return &fieldManagers{scheme: scheme, managers: map[string]*managedfields.FieldManager{}, custom: map[string]customManager{}}
}

// defaulter runs a kind's defaulting where the field manager asks for it.
type defaulter struct{ ep *endpoint }

func (d defaulter) Default(obj runtime.Object) {
	if d.ep.Hooks.Default != nil {
		d.ep.Hooks.Default(obj)
	}
}

// forEndpoint returns the field manager of a resource or its status.
// views returns the endpoints serving the same objects in other
// versions (Server.viewsOf), which its managers may have used. ctx is
// the request's: a custom resource whose versions a webhook converts
// gets a field manager of the request's own, whose conversions call the
// webhook with it (building one costs little: its types are the CRD's,
// compiled once).
func (f *fieldManagers) forEndpoint(ctx context.Context, ep *endpoint, subresource string, views func(*endpoint) []*endpoint) (*managedfields.FieldManager, error) {
	f.once.Do(func() {
		f.types = applyconfigurations.NewTypeConverter(f.scheme)
		f.extTypes = extapplyconfigurations.NewTypeConverter(f.scheme)
		f.aggTypes = aggapplyconfigurations.NewTypeConverter(f.scheme)
	})
	key := endpointKey(ep.GroupVersion.Group, ep.GroupVersion.Version, ep.Resource.Resource) + "/" + subresource
	f.mu.Lock()
	defer f.mu.Unlock()
	if ep.custom != nil {
		if cm, ok := f.custom[key]; ok && cm.ep == ep && !ep.custom.webhook {
			return cm.fm, nil
		}
	} else if fm, ok := f.managers[key]; ok {
		return fm, nil
	}
	family := views(ep)
	reset := resetFields(ep, subresource, family)
	// Objects served in several versions convert between them for their
	// managers of other versions; objects of one version need no
	// conversion.
	var convert runtime.ObjectConvertor = f.scheme
	if ep.custom != nil || len(family) > 1 {
		vc := newViewConverter(f.scheme, ep, family)
		if ep.custom != nil && ep.custom.webhook {
			vc.ctx = ctx
		}
		convert = vc
	}
	if ep.custom != nil {
		// Custom objects are Unstructured: their versions differ only in
		// apiVersion (the None conversion). Their fields are typed by the
		// CRD's schema, or by deduction, as upstream does for a schema it
		// cannot convert.
		types := ep.ApplyTypes
		if types == nil {
			types = managedfields.NewDeducedTypeConverter()
		}
		fm, err := managedfields.NewDefaultFieldManager(types, convert, defaulter{ep}, unstructuredVersions{}, ep.gvk, ep.GroupVersion, subresource, reset)
		if err != nil {
			return nil, fmt.Errorf("field manager for %s: %w", key, err)
		}
		if !ep.custom.webhook {
			f.custom[key] = customManager{ep: ep, fm: fm}
		}
		return fm, nil
	}
	types := f.types
	switch ep.GroupVersion.Group {
	case apiextensionsv1.GroupName:
		types = f.extTypes
	case apiregistrationv1.GroupName:
		types = f.aggTypes
	}
	fm, err := managedfields.NewDefaultFieldManager(types, convert, defaulter{ep}, f.scheme, ep.gvk, ep.GroupVersion, subresource, reset)
	if err != nil {
		return nil, fmt.Errorf("field manager for %s: %w", key, err)
	}
	f.managers[key] = fm
	return fm, nil
}

// resetFields are the fields a write through ep (its main resource, or
// its status) cannot change, in each version its objects are served in:
// its manager does not own them, and managers of other versions do not
// lose them to it.
func resetFields(ep *endpoint, subresource string, family []*endpoint) map[fieldpath.APIVersion]fieldpath.Filter {
	if !ep.HasStatus {
		return nil
	}
	// Status from the main resource; spec and the metadata kept as
	// stored from status.
	paths := []fieldpath.Path{fieldpath.MakePathOrDie("status")}
	if subresource == "status" {
		paths = statusResetPaths(ep.StatusHooks.Meta)
	}
	filter := fieldpath.NewExcludeSetFilter(fieldpath.NewSet(paths...))
	reset := map[fieldpath.APIVersion]fieldpath.Filter{fieldpath.APIVersion(ep.GroupVersion.String()): filter}
	for _, v := range family {
		if v.HasStatus {
			reset[fieldpath.APIVersion(v.GroupVersion.String())] = filter
		}
	}
	return reset
}

// statusResetPaths are the fields a status update resets, as upstream's
// status strategies list them: the spec, and the metadata kept as stored
// (all of it where the strategy resets labels, annotations, finalizers
// and owner references together).
func statusResetPaths(mode registry.StatusMeta) []fieldpath.Path {
	paths := []fieldpath.Path{fieldpath.MakePathOrDie("spec")}
	switch mode {
	case registry.StatusMetaRequest:
	case registry.StatusMetaRequestButOwners:
		paths = append(paths, fieldpath.MakePathOrDie("metadata", "deletionTimestamp"), fieldpath.MakePathOrDie("metadata", "ownerReferences"))
	case registry.StatusMetaRequestButLabels:
		paths = append(paths, fieldpath.MakePathOrDie("metadata", "labels"))
	default:
		paths = append(paths, fieldpath.MakePathOrDie("metadata"))
	}
	return paths
}

// unstructuredVersions creates custom objects for the field manager.
type unstructuredVersions struct{}

func (unstructuredVersions) New(kind schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(kind)
	return u, nil
}

// track records manager's ownership of what changed from old to obj (old
// is an empty object for creates). Tracking never fails a write.
func (s *Server) track(ctx context.Context, ep *endpoint, subresource string, old, obj runtime.Object, manager string) runtime.Object {
	if s.managedFields == ManagedFieldsAfterApply && !applied(old) {
		// Not tracked until the first apply (upstream's skip-non-applied
		// manager): the object keeps no managedFields, and the first apply
		// finds its fields owned by "before-first-apply".
		if m, err := meta.Accessor(obj); err == nil {
			m.SetManagedFields(nil)
		}
		return obj
	}
	fm, err := s.fields.forEndpoint(ctx, ep, subresource, s.viewsOf)
	if err != nil {
		s.log.Error("managed fields", "err", err)
		return obj
	}
	return fm.UpdateNoErrors(old, obj, manager)
}

// ManagedFields says when writes record metadata.managedFields.
type ManagedFields string

const (
	// ManagedFieldsAlways tracks every create and update, as upstream does
	// since 1.18.
	ManagedFieldsAlways ManagedFields = "always"
	// ManagedFieldsAfterApply tracks an object's updates only once it has
	// been applied (server-side) at least once, as upstream did when
	// server-side apply was beta. Tracking costs more CPU than anything
	// else in an update of a small object (it walks both versions of the
	// object), and most objects, pods above all, are never applied.
	ManagedFieldsAfterApply ManagedFields = "after-apply"
)

// applied reports whether obj carries managed fields (it was applied, or
// created while every write was tracked).
func applied(obj runtime.Object) bool {
	m, err := meta.Accessor(obj)
	return err == nil && len(m.GetManagedFields()) > 0
}

// managerName is the fieldManager parameter, or else the client's name
// from its User-Agent, as upstream records it.
func managerName(r *http.Request) (string, error) {
	m := r.URL.Query().Get("fieldManager")
	if m == "" {
		m = strings.Split(r.UserAgent(), "/")[0]
		if len(m) > 128 {
			m = m[:128]
		}
		return m, nil
	}
	if len(m) > 128 {
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldManager: Too long: may not be more than 128 bytes"))
	}
	for _, r := range m {
		if !unicode.IsPrint(r) {
			return "", apierrors.NewBadRequest("fieldManager: Invalid value: may only contain printable characters")
		}
	}
	return m, nil
}
