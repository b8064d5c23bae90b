package apiserver

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/kemudi/kemudi/internal/auth"
)

// multiVersion indexes the resources served in more than one version
// (a CRD's versions, autoscaling's HPA), each by upstream's version
// priority, for admission webhooks that match another version than the
// request's (matchPolicy Equivalent).
func multiVersion(eps map[string]*endpoint) map[schema.GroupResource][]*endpoint {
	all := map[schema.GroupResource][]*endpoint{}
	for _, ep := range eps {
		if ep.review {
			continue
		}
		gr := schema.GroupResource{Group: ep.GroupVersion.Group, Resource: ep.Resource.Resource}
		all[gr] = append(all[gr], ep)
	}
	out := map[schema.GroupResource][]*endpoint{}
	for gr, views := range all {
		if len(views) < 2 {
			continue
		}
		sort.Slice(views, func(i, j int) bool {
			return version.CompareKubeAwareVersionStrings(views[i].GroupVersion.Version, views[j].GroupVersion.Version) > 0
		})
		out[gr] = views
	}
	return out
}

// versionsOf is what admission may convert ep's objects to: nil when ep's
// resource is served in one version only.
func (s *Server) versionsOf(ep *endpoint) auth.Versions {
	views := s.api.Load().views[schema.GroupResource{Group: ep.GroupVersion.Group, Resource: ep.Resource.Resource}]
	if len(views) == 0 {
		return nil
	}
	return admissionVersions(views)
}

// admissionVersions converts between the versions of one stored resource
// through what is stored, as the field manager's converter does: the
// source version's Convert.ToStorage, then the target's FromStorage.
type admissionVersions []*endpoint

func (v admissionVersions) Served() []string {
	out := make([]string, len(v))
	for i, ep := range v {
		out[i] = ep.GroupVersion.Version
	}
	return out
}

func (v admissionVersions) view(version string) (*endpoint, error) {
	for _, ep := range v {
		if ep.GroupVersion.Version == version {
			return ep, nil
		}
	}
	return nil, fmt.Errorf("version %q is not served", version)
}

func (v admissionVersions) Convert(ctx context.Context, obj runtime.Object, from, to string) (runtime.Object, schema.GroupVersionKind, error) {
	src, err := v.view(from)
	if err != nil {
		return nil, schema.GroupVersionKind{}, err
	}
	dst, err := v.view(to)
	if err != nil {
		return nil, schema.GroupVersionKind{}, err
	}
	out := obj.DeepCopyObject()
	if src.Convert != nil {
		if out, err = src.Convert.ToStorage(ctx, out); err != nil {
			return nil, schema.GroupVersionKind{}, fmt.Errorf("convert %s to storage: %w", src.gvk, err)
		}
	}
	if dst.Convert != nil {
		if out, err = dst.Convert.FromStorage(ctx, out); err != nil {
			return nil, schema.GroupVersionKind{}, fmt.Errorf("convert to %s: %w", dst.gvk, err)
		}
	}
	out.GetObjectKind().SetGroupVersionKind(dst.gvk)
	return out, dst.gvk, nil
}

func (v admissionVersions) Default(obj runtime.Object, version string) {
	if ep, err := v.view(version); err == nil && ep.Hooks.Default != nil {
		ep.Hooks.Default(obj)
	}
}
