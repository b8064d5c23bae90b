// Package customresource builds the registry.Resource that serves one
// version of a CustomResourceDefinition: custom objects are Unstructured,
// stored as JSON under /registry/<group>/<plural>/ in the CRD's storage
// version; other served versions are converted on the way in and out
// with the None strategy (their apiVersion rewritten) or the Webhook
// strategy (the CRD's conversion webhook called).
package customresource

import (
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
)

// Resource returns the resource that serves version of crd, under the
// names the CRD's status accepted. It fails when the CRD does not serve
// that version or has no accepted names yet. A CRD with the Webhook
// conversion strategy reaches only URL webhooks (see ResourceWith).
func Resource(crd *apiextensionsv1.CustomResourceDefinition, version string) (*registry.Resource, error) {
	return ResourceWith(crd, version, nil)
}

// ResourceWith is Resource with the caller of conversion webhooks
// (nil: one that reaches URLs only, no services).
func ResourceWith(crd *apiextensionsv1.CustomResourceDefinition, version string, webhooks *Webhooks) (*registry.Resource, error) {
	v, ok := servedVersion(crd, version)
	if !ok {
		return nil, fmt.Errorf("%s does not serve version %q", crd.Name, version)
	}
	names := crd.Status.AcceptedNames
	if names.Plural == "" || names.Kind == "" {
		return nil, fmt.Errorf("%s has no accepted names", crd.Name)
	}
	storage := StorageVersion(crd)
	if storage == "" {
		return nil, fmt.Errorf("%s has no storage version", crd.Name)
	}
	gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
	listKind := names.ListKind
	if listKind == "" {
		listKind = names.Kind + "List"
	}
	kind := names.Kind
	r := &registry.Resource{
		GroupVersion:     gv,
		Resource:         names.Plural,
		Kind:             kind,
		SingularName:     names.Singular,
		ShortNames:       names.ShortNames,
		Categories:       names.Categories,
		Namespaced:       crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		StoragePrefix:    crd.Spec.Group + "/" + names.Plural,
		TracksGeneration: true,
		New: func() runtime.Object {
			u := &unstructured.Unstructured{Object: map[string]interface{}{}}
			u.SetGroupVersionKind(gv.WithKind(kind))
			return u
		},
		NewList: func() runtime.Object {
			l := &unstructured.UnstructuredList{Object: map[string]interface{}{}}
			l.SetGroupVersionKind(gv.WithKind(listKind))
			return l
		},
		Table: table(v.AdditionalPrinterColumns),
	}
	compiled := newLazySchema(crd, v.Name)
	r.Hooks, r.StatusHooks = schemaHooks(compiled, v)
	r.ApplyTypes = newApplyTypes(crd, compiled)
	r.DefaultOnRead = readDefaults(crd, v.Name, compiled)
	if sub := v.Subresources; sub != nil {
		r.HasStatus = sub.Status != nil
		if sub.Scale != nil {
			r.Scale = scale(sub.Scale)
		}
	}
	if len(v.SelectableFields) > 0 {
		r.SelectableFields = selectableFields(v.SelectableFields)
	}
	switch {
	case crd.Spec.Conversion != nil && crd.Spec.Conversion.Strategy == apiextensionsv1.WebhookConverter:
		// The storage version converts too: objects written before the
		// storage version changed stay stored in the old one. Objects in
		// the desired version already are not sent.
		if webhooks == nil {
			webhooks = NewWebhooks(nil)
		}
		r.Convert = webhooks.webhookConversion(crd, gv, schema.GroupVersion{Group: crd.Spec.Group, Version: storage}, compiled)
	case v.Name == storage:
	default:
		r.Convert = noneConversion(crd, gv, schema.GroupVersion{Group: crd.Spec.Group, Version: storage}, compiled)
	}
	return r, nil
}

// servedVersion finds a served version by name.
func servedVersion(crd *apiextensionsv1.CustomResourceDefinition, name string) (apiextensionsv1.CustomResourceDefinitionVersion, bool) {
	for _, v := range crd.Spec.Versions {
		if v.Name == name && v.Served {
			return v, true
		}
	}
	return apiextensionsv1.CustomResourceDefinitionVersion{}, false
}

// StorageVersion is the version custom objects are stored in.
func StorageVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			return v.Name
		}
	}
	return ""
}

// StorageKind is the group, version and kind custom objects are stored
// as, for discovery's storageVersionHash: upstream names the kind by
// spec.names.kind and gives none when the storage version is not served.
func StorageKind(crd *apiextensionsv1.CustomResourceDefinition) schema.GroupVersionKind {
	for _, v := range crd.Spec.Versions {
		if v.Storage && v.Served {
			return schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
		}
	}
	return schema.GroupVersionKind{}
}

// ServedVersions are the names of the served versions, in the order
// discovery lists them (upstream's version priority: GA before beta
// before alpha, newer first).
func ServedVersions(crd *apiextensionsv1.CustomResourceDefinition) []string {
	var out []string
	for _, v := range crd.Spec.Versions {
		if v.Served {
			out = append(out, v.Name)
		}
	}
	sortByPriority(out)
	return out
}

// selectableFields reads the CRD's selectable fields (JSON paths such as
// .spec.color) from an object, as field selectors match them.
func selectableFields(sel []apiextensionsv1.SelectableField) func(runtime.Object) fields.Set {
	paths := make([][]string, len(sel))
	names := make([]string, len(sel))
	for i, f := range sel {
		names[i] = strings.TrimPrefix(f.JSONPath, ".")
		paths[i] = strings.Split(names[i], ".")
	}
	return func(obj runtime.Object) fields.Set {
		set := make(fields.Set, len(paths)+2)
		u, ok := obj.(*unstructured.Unstructured)
		for i, p := range paths {
			set[names[i]] = ""
			if !ok {
				continue
			}
			if v, found, _ := unstructured.NestedFieldNoCopy(u.Object, p...); found && v != nil {
				set[names[i]] = fmt.Sprint(v)
			}
		}
		return set
	}
}
