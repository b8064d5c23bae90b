package apiserver

import (
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// discovery holds the documents under /api and /apis, built once: the set
// of served resources never changes while the server runs.
type discovery struct {
	// groups in discovery order; the core group ("") first.
	groups   []string
	versions map[string][]string // group -> versions, preferred first
	lists    map[schema.GroupVersion]*metav1.APIResourceList
	// aggregated documents for /api and /apis.
	aggregatedCore, aggregatedGroups *apidiscoveryv2.APIGroupDiscoveryList
}

// subresourceInfo describes a subresource in discovery.
type subresourceInfo struct {
	name  string
	kind  schema.GroupVersionKind
	verbs []string
}

func subresourcesOf(ep *endpoint, scheme *runtime.Scheme) []subresourceInfo {
	var subs []subresourceInfo
	if ep.HasStatus {
		subs = append(subs, subresourceInfo{"status", ep.gvk, []string{"get", "patch", "update"}})
	}
	// Like status: pods/ephemeralcontainers, certificatesigningrequests/approval.
	like := make([]string, 0, len(ep.StatusLike))
	for name := range ep.StatusLike {
		like = append(like, name)
	}
	sort.Strings(like)
	for _, name := range like {
		subs = append(subs, subresourceInfo{name, ep.gvk, []string{"get", "patch", "update"}})
	}
	if ep.Scale != nil {
		subs = append(subs, subresourceInfo{"scale", schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, []string{"get", "patch", "update"}})
	}
	names := make([]string, 0, len(ep.Actions))
	for name := range ep.Actions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a := ep.Actions[name]
		var kind schema.GroupVersionKind
		if kinds, _, err := scheme.ObjectKinds(a.New()); err == nil {
			kind = kinds[0]
		}
		verbs := []string{"create"}
		if name == "finalize" {
			verbs = []string{"update"}
		}
		subs = append(subs, subresourceInfo{name, kind, verbs})
	}
	return subs
}

func newDiscovery(eps []*endpoint, scheme *runtime.Scheme) *discovery {
	d := &discovery{versions: map[string][]string{}, lists: map[schema.GroupVersion]*metav1.APIResourceList{}}
	stored := storageKinds(eps)
	for _, ep := range eps {
		gv := ep.GroupVersion
		list, ok := d.lists[gv]
		if !ok {
			list = &metav1.APIResourceList{GroupVersion: gv.String()}
			list.Kind, list.APIVersion = "APIResourceList", "v1"
			d.lists[gv] = list
			if _, seen := d.versions[gv.Group]; !seen {
				d.groups = append(d.groups, gv.Group)
			}
			d.versions[gv.Group] = append(d.versions[gv.Group], gv.Version)
		}
		res := metav1.APIResource{
			Name: ep.Resource.Resource, SingularName: ep.SingularName, Namespaced: ep.Namespaced,
			Kind: ep.Kind, Verbs: ep.verbs(), ShortNames: ep.ShortNames, Categories: ep.Categories,
		}
		if gvk, ok := stored[ep]; ok {
			res.StorageVersionHash = storageVersionHash(gvk)
		}
		list.APIResources = append(list.APIResources, res)
		for _, sub := range subresourcesOf(ep, scheme) {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: ep.Resource.Resource + "/" + sub.name, Namespaced: ep.Namespaced,
				Group: sub.kind.Group, Version: sub.kind.Version, Kind: sub.kind.Kind, Verbs: sub.verbs,
			})
		}
	}
	d.aggregatedCore = d.aggregated(eps, scheme, true)
	d.aggregatedGroups = d.aggregated(eps, scheme, false)
	return d
}

func (d *discovery) aggregated(eps []*endpoint, scheme *runtime.Scheme, core bool) *apidiscoveryv2.APIGroupDiscoveryList {
	list := &apidiscoveryv2.APIGroupDiscoveryList{}
	list.Kind, list.APIVersion = "APIGroupDiscoveryList", "apidiscovery.k8s.io/v2"
	for _, group := range d.groups {
		if (group == "") != core {
			continue
		}
		g := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: group}}
		for _, version := range d.versions[group] {
			v := apidiscoveryv2.APIVersionDiscovery{Version: version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
			for _, ep := range eps {
				if ep.GroupVersion.Group != group || ep.GroupVersion.Version != version {
					continue
				}
				scope := apidiscoveryv2.ScopeCluster
				if ep.Namespaced {
					scope = apidiscoveryv2.ScopeNamespace
				}
				kind := ep.gvk
				rd := apidiscoveryv2.APIResourceDiscovery{
					Resource: ep.Resource.Resource, SingularResource: ep.SingularName, Scope: scope,
					ResponseKind: &metav1.GroupVersionKind{Group: kind.Group, Version: kind.Version, Kind: kind.Kind},
					Verbs:        ep.verbs(), ShortNames: ep.ShortNames, Categories: ep.Categories,
				}
				for _, sub := range subresourcesOf(ep, scheme) {
					rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{
						Subresource:  sub.name,
						ResponseKind: &metav1.GroupVersionKind{Group: sub.kind.Group, Version: sub.kind.Version, Kind: sub.kind.Kind},
						Verbs:        sub.verbs,
					})
				}
				v.Resources = append(v.Resources, rd)
			}
			g.Versions = append(g.Versions, v)
		}
		list.Items = append(list.Items, g)
	}
	return list
}

// serve answers discovery paths; it returns false for other paths.
func (d *discovery) serve(s *Server, w http.ResponseWriter, r *http.Request, out output) bool {
	parts := splitPath(r.URL.Path)
	var obj runtime.Object
	switch {
	case len(parts) == 1 && parts[0] == "api":
		if out.discovery {
			obj = d.aggregatedCore
			break
		}
		v := &metav1.APIVersions{Versions: d.versions[""], ServerAddressByClientCIDRs: serverAddresses(r)}
		v.Kind = "APIVersions"
		obj = v
	case len(parts) == 1 && parts[0] == "apis":
		if out.discovery {
			obj = s.agg.mergeAggregated(d.aggregatedGroups)
			break
		}
		groups := &metav1.APIGroupList{}
		groups.Kind, groups.APIVersion = "APIGroupList", "v1"
		for _, g := range d.groups {
			if g != "" {
				groups.Groups = append(groups.Groups, d.group(g))
			}
		}
		groups.Groups = append(groups.Groups, s.agg.legacyGroups(d.versions)...)
		obj = groups
	case len(parts) == 2 && parts[0] == "api":
		list, ok := d.lists[schema.GroupVersion{Version: parts[1]}]
		if !ok {
			return false
		}
		obj = list
	case len(parts) == 2 && parts[0] == "apis":
		if _, ok := d.versions[parts[1]]; !ok || parts[1] == "" {
			return false
		}
		g := d.group(parts[1])
		g.Kind, g.APIVersion = "APIGroup", "v1"
		obj = &g
	case len(parts) == 3 && parts[0] == "apis":
		list, ok := d.lists[schema.GroupVersion{Group: parts[1], Version: parts[2]}]
		if !ok {
			return false
		}
		obj = list
	default:
		return false
	}
	if out.as != "" {
		out = output{mediaType: out.mediaType, pretty: out.pretty}
	}
	if out.discovery {
		w.Header().Set("Vary", "Accept")
		out.contentType = aggregatedContentType(out)
		s.write(w, out, http.StatusOK, obj)
		return true
	}
	if out.mediaType == mediaProtobuf {
		// Discovery documents are JSON only.
		out.mediaType = mediaJSON
	}
	s.write(w, out, http.StatusOK, obj)
	return true
}

// aggregatedContentType is the Content-Type clients look for to know they
// got aggregated discovery.
func aggregatedContentType(out output) string {
	return out.mediaType + ";g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
}

func (d *discovery) group(name string) metav1.APIGroup {
	g := metav1.APIGroup{Name: name}
	for _, v := range d.versions[name] {
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: name + "/" + v, Version: v})
	}
	g.PreferredVersion = g.Versions[0]
	return g
}

// serverAddresses tells clients the address they reached us on.
func serverAddresses(r *http.Request) []metav1.ServerAddressByClientCIDR {
	host := r.Host
	if host == "" {
		return nil
	}
	if !strings.Contains(host, ":") {
		host += ":443"
	}
	return []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: host}}
}
