package openapi

import (
	"reflect"
	"sort"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/util"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// operationVerbs are the verbs an operation name starts with, as in
// upstream's k8s.io/apiserver/pkg/endpoints/openapi.
var operationVerbs = []string{"get", "log", "read", "replace", "patch", "delete", "deletecollection", "watch", "connect", "proxy", "list", "create"}

// operationIDAndTags turns an installer operation name and its path into
// upstream's operation ID and tag: readNamespacedPod on /api/v1/...
// becomes readCoreV1NamespacedPod, tagged core_v1.
func operationIDAndTags(operation, path string) (string, []string) {
	prefix := ""
	for _, v := range operationVerbs {
		// The shortest verb wins: deletecollection... is delete + Collection...
		if strings.HasPrefix(operation, v) && (prefix == "" || len(v) < len(prefix)) {
			prefix = v
		}
	}
	op := operation[len(prefix):]
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 1 && parts[0] == "api" {
		parts = append([]string{"apis", "core"}, parts[1:]...)
	}
	var tags []string
	if len(parts) >= 2 && parts[0] == "apis" {
		group := strings.TrimSuffix(parts[1], ".k8s.io")
		prefix += validOperationID(group, prefix != "")
		tag := validOperationID(group, false)
		if len(parts) > 2 {
			prefix += validOperationID(parts[2], prefix != "")
			tag += "_" + validOperationID(parts[2], false)
		}
		tags = append(tags, tag)
	} else if len(parts) >= 1 {
		tags = append(tags, validOperationID(parts[0], false))
	}
	return prefix + validOperationID(op, prefix != ""), tags
}

// validOperationID drops the characters an identifier cannot hold and
// capitalizes the letter after each: rbac.authorization -> RbacAuthorization.
func validOperationID(s string, capitalizeFirst bool) string {
	var b strings.Builder
	capitalize := capitalizeFirst
	for i, r := range s {
		if unicode.IsLetter(r) || r == '_' || (i != 0 && unicode.IsDigit(r)) {
			if capitalize {
				r = unicode.ToUpper(r)
				capitalize = false
			}
			b.WriteRune(r)
		} else {
			capitalize = true
		}
	}
	return b.String()
}

// namer names definitions as upstream's DefinitionNamer: by OpenAPI model
// name (io.k8s.api.core.v1.Pod), with the group, version and kinds a
// type is served as in x-kubernetes-group-version-kind.
type namer struct {
	gvks map[string][]schema.GroupVersionKind
}

// newNamer indexes the kinds of scheme that belong to one of the group
// versions gvs, and those of the core group version, which holds the
// unversioned meta kinds (Status, APIGroupList...).
func newNamer(scheme *runtime.Scheme, gvs map[schema.GroupVersion]bool) *namer {
	n := &namer{gvks: map[string][]schema.GroupVersionKind{}}
	for gvk, t := range scheme.AllKnownTypes() {
		if !gvs[gvk.GroupVersion()] && gvk.GroupVersion() != metav1.Unversioned {
			continue
		}
		name := util.GetCanonicalTypeName(reflect.New(t).Interface())
		n.gvks[name] = append(n.gvks[name], gvk)
	}
	for _, list := range n.gvks {
		sort.Slice(list, func(i, j int) bool {
			a, b := list[i], list[j]
			if a.Group != b.Group {
				return a.Group < b.Group
			}
			if a.Version != b.Version {
				return a.Version < b.Version
			}
			return a.Kind < b.Kind
		})
	}
	return n
}

// definitionName is the GetDefinitionName of the v2 builder's config.
func (n *namer) definitionName(name string) (string, spec.Extensions) {
	return n.name(name, n.gvks[name])
}

// forDocument returns the GetDefinitionName of the v3 document of group
// version gv. Upstream's v3 documents list, for a type served in several
// group versions (DeleteOptions, WatchEvent), only the document's own
// and the core one.
func (n *namer) forDocument(gv schema.GroupVersion) func(string) (string, spec.Extensions) {
	return func(name string) (string, spec.Extensions) {
		list := n.gvks[name]
		var own []schema.GroupVersionKind
		for _, gvk := range list {
			if g := gvk.GroupVersion(); g == gv || g == metav1.Unversioned {
				own = append(own, gvk)
			}
		}
		if len(own) > 0 {
			list = own
		}
		return n.name(name, list)
	}
}

func (n *namer) name(name string, list []schema.GroupVersionKind) (string, spec.Extensions) {
	friendly := name
	if strings.Contains(name, "/") {
		// A Go type without a model name: k8s.io/x/v1.T -> io.k8s.x.v1.T.
		friendly = util.ToRESTFriendlyName(name)
	}
	if len(list) == 0 {
		return friendly, nil
	}
	ext := make([]interface{}, len(list))
	for i, gvk := range list {
		ext[i] = map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
	}
	return friendly, spec.Extensions{extensionGVK: ext}
}
