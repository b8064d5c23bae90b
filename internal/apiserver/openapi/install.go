package openapi

import (
	"net/http"
	"sort"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/common"

	"github.com/kemudi/kemudi/internal/registry"
)

// This file describes the served endpoints as upstream's API installer
// (k8s.io/apiserver/pkg/endpoints/installer.go) registers them: the same
// paths, operation names, descriptions, parameters, media types, response
// codes and extensions, so the documents match kube-apiserver's.

const (
	extensionGVK    = "x-kubernetes-group-version-kind"
	extensionAction = "x-kubernetes-action"

	prettyDoc    = "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."
	namespaceDoc = "object name and auth scope, such as for teams and projects"
)

var (
	// mediaTypes are the encodings every API object is served in.
	mediaTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/cbor"}
	// streamMediaTypes are the watch encodings besides mediaTypes.
	streamMediaTypes = []string{"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch", "application/cbor-seq"}
	// patchTypes are the patch bodies a PATCH accepts.
	patchTypes = []string{
		string(types.JSONPatchType),
		string(types.MergePatchType),
		string(types.StrategicMergePatchType),
		string(types.ApplyYAMLPatchType),
		string(types.ApplyCBORPatchType),
	}
)

// updateActions are the action subresources that are replaced (PUT)
// rather than created (POST): upstream's namespaces/finalize.
var updateActions = map[string]bool{"finalize": true}

// services returns the web services of the served resources, one per
// group version, plus the discovery and version endpoints, as upstream
// registers them. The services are sorted by root path.
func services(resources []*registry.Resource) []*service {
	byGV := map[schema.GroupVersion]*service{}
	groups := map[string]bool{}
	var out []*service
	for _, r := range resources {
		svc := byGV[r.GroupVersion]
		if svc == nil {
			svc = &service{root: rootPath(r.GroupVersion), gv: r.GroupVersion}
			svc.routes = append(svc.routes, apiResourcesRoute(svc.root))
			byGV[r.GroupVersion] = svc
			out = append(out, svc)
			if r.GroupVersion.Group != "" && !groups[r.GroupVersion.Group] {
				groups[r.GroupVersion.Group] = true
				out = append(out, apiGroupService(r.GroupVersion.Group))
			}
		}
		svc.routes = append(svc.routes, resourceRoutes(svc.root, r)...)
	}
	out = append(out,
		simpleService("/api", "get available API versions", "getAPIVersions", &metav1.APIVersions{}, mediaTypes),
		simpleService("/apis", "get available API versions", "getAPIVersions", &metav1.APIGroupList{}, mediaTypes),
		simpleService("/version", "get the version information for this server", "getCodeVersion", &version.Info{}, []string{"application/json"}),
	)
	sort.Slice(out, func(i, j int) bool { return out[i].root < out[j].root })
	return out
}

func rootPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

// apiResourcesRoute is the discovery document of a group version.
func apiResourcesRoute(root string) common.Route {
	return simpleRoute(root+"/", "get available resources", "getAPIResources", &metav1.APIResourceList{}, mediaTypes)
}

func apiGroupService(group string) *service {
	return simpleService("/apis/"+group, "get information of a group", "getAPIGroup", &metav1.APIGroup{}, mediaTypes)
}

func simpleService(root, doc, operation string, model interface{}, media []string) *service {
	return &service{root: root, routes: []common.Route{simpleRoute(root+"/", doc, operation, model, media)}}
}

func simpleRoute(path, doc, operation string, model interface{}, media []string) common.Route {
	rt := &route{
		method:      http.MethodGet,
		path:        path,
		description: doc,
		consumes:    media,
		produces:    media,
		writes:      model,
	}
	rt.operationID, rt.tags = operationIDAndTags(operation, path)
	rt.returns(http.StatusOK, "OK", model)
	return rt
}

// endpoint is what one path of a resource serves. Upstream's storage
// interfaces (Getter, Lister, ...) decide this; here resourceVerbs does
// for the resource, and its subresources serve what they are.
type endpoint struct {
	kind        string // the resource's kind, used in docs and operation names
	subresource string
	gvk         schema.GroupVersionKind // what the endpoint reads and writes
	object      runtime.Object          // its Go type
	list        runtime.Object
	verbs       []string // upstream's action verbs: GET, LIST, POST, ...
	// deleteReturnsObject is true when a delete answers with the
	// deleted object rather than a Status.
	deleteReturnsObject bool
}

// watches reports whether the endpoint serves watches.
func (ep endpoint) watches() bool {
	for _, v := range ep.verbs {
		if v == "WATCH" || v == "WATCHLIST" {
			return true
		}
	}
	return false
}

var (
	standardVerbs = []string{"LIST", "POST", "DELETECOLLECTION", "WATCHLIST", "GET", "PUT", "PATCH", "DELETE", "WATCH"}
	statusVerbs   = []string{"GET", "PUT", "PATCH"}
)

func resourceRoutes(root string, r *registry.Resource) []common.Route {
	gvk := r.GroupVersion.WithKind(r.Kind)
	gr := r.GroupVersion.WithResource(r.Resource).GroupResource()
	eps := []endpoint{{kind: r.Kind, gvk: gvk, object: r.New(), list: r.NewList(),
		verbs: resourceVerbs(gr), deleteReturnsObject: deleteReturnsObject[gr]}}
	if r.HasStatus {
		eps = append(eps, endpoint{kind: r.Kind, subresource: "status", gvk: gvk, object: r.New(), verbs: statusVerbs})
	}
	if r.Scale != nil {
		eps = append(eps, endpoint{kind: r.Kind, subresource: "scale",
			gvk: autoscalingv1.SchemeGroupVersion.WithKind("Scale"), object: &autoscalingv1.Scale{}, verbs: statusVerbs})
	}
	names := make([]string, 0, len(r.Actions))
	for name := range r.Actions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		body := r.Actions[name].New()
		verb := "POST"
		if updateActions[name] {
			verb = "PUT"
		}
		eps = append(eps, endpoint{kind: r.Kind, subresource: name, gvk: kindOf(body), object: body, verbs: []string{verb}})
	}
	var routes []common.Route
	for _, ep := range eps {
		routes = append(routes, endpointRoutes(root, r, ep)...)
	}
	return routes
}

// kindOf returns the group, version and kind an object declares for
// itself or, failing that, that its Go type is registered under.
func kindOf(obj runtime.Object) schema.GroupVersionKind {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk
	}
	if gvks, _, err := clientgoscheme.Scheme.ObjectKinds(obj); err == nil && len(gvks) > 0 {
		return gvks[0]
	}
	return schema.GroupVersionKind{}
}

// action is one verb on one path, upstream's installer action.
type action struct {
	verb          string
	path          string // relative to the group version root
	params        []common.Parameter
	allNamespaces bool
}

func endpointRoutes(root string, r *registry.Resource, ep endpoint) []common.Route {
	// The name parameter names the kind of the endpoint itself (Scale,
	// Binding), the operations the kind of the resource.
	nameParam := pathParam("name", "name of the "+ep.gvk.Kind)
	resourcePath := r.Resource
	var resourceParams []common.Parameter
	if r.Namespaced {
		resourcePath = "namespaces/{namespace}/" + r.Resource
		resourceParams = []common.Parameter{pathParam("namespace", namespaceDoc)}
	}
	itemPath := resourcePath + "/{name}"
	nameParams := append(append([]common.Parameter{}, resourceParams...), nameParam)
	if ep.subresource != "" {
		itemPath += "/" + ep.subresource
		resourcePath = itemPath
		resourceParams = nameParams
	}

	var actions []action
	for _, verb := range ep.verbs {
		switch verb {
		case "LIST", "POST", "DELETECOLLECTION":
			actions = append(actions, action{verb: verb, path: resourcePath, params: resourceParams})
		case "WATCHLIST":
			actions = append(actions, action{verb: verb, path: "watch/" + resourcePath, params: resourceParams})
		case "GET", "PUT", "PATCH", "DELETE":
			actions = append(actions, action{verb: verb, path: itemPath, params: nameParams})
		case "WATCH":
			actions = append(actions, action{verb: verb, path: "watch/" + itemPath, params: nameParams})
		}
	}
	// Lists and watches across namespaces.
	if r.Namespaced && ep.subresource == "" {
		for _, verb := range ep.verbs {
			switch verb {
			case "LIST":
				actions = append(actions, action{verb: verb, path: r.Resource, allNamespaces: true})
			case "WATCHLIST":
				actions = append(actions, action{verb: verb, path: "watch/" + r.Resource, allNamespaces: true})
			}
		}
	}

	routes := make([]common.Route, 0, len(actions))
	for _, a := range actions {
		routes = append(routes, actionRoute(root, r.Namespaced, ep, a))
	}
	return routes
}

func actionRoute(root string, isNamespaced bool, ep endpoint, a action) common.Route {
	kind := ep.kind
	sub := ep.subresource
	namespaced := ""
	if isNamespaced {
		namespaced = "Namespaced"
	}
	suffix := ""
	if a.allNamespaces {
		namespaced = ""
		suffix = "ForAllNamespaces"
	}
	title := ""
	if sub != "" {
		title = strings.ToUpper(sub[:1]) + sub[1:]
	}
	name := namespaced + kind + title + suffix

	rt := &route{
		path:     root + "/" + a.path,
		consumes: []string{"*/*"},
		produces: mediaTypes,
		metadata: map[string]interface{}{
			extensionGVK:    metav1.GroupVersionKind{Group: ep.gvk.Group, Version: ep.gvk.Version, Kind: ep.gvk.Kind},
			extensionAction: strings.ToLower(a.verb),
		},
	}
	params := []common.Parameter{queryParam("pretty", prettyDoc, "string")}
	var operation string
	article := articleFor(kind)
	switch a.verb {
	case "GET":
		rt.method = http.MethodGet
		operation = "read" + name
		rt.description = "read the specified " + kind
		if sub != "" {
			rt.description = "read " + sub + " of the specified " + kind
		}
		rt.writes = ep.object
		rt.returns(http.StatusOK, "OK", ep.object)
	case "LIST":
		rt.method = http.MethodGet
		operation = "list" + name
		rt.description = "list objects of kind " + kind
		if ep.watches() {
			rt.description = "list or watch objects of kind " + kind
		}
		rt.produces = append(append([]string{}, mediaTypes...), streamMediaTypes...)
		rt.writes = ep.list
		rt.returns(http.StatusOK, "OK", ep.list)
		params = append(params, optionParams(&metav1.ListOptions{})...)
	case "PUT":
		rt.method = http.MethodPut
		operation = "replace" + name
		rt.description = "replace the specified " + kind
		if sub != "" {
			rt.description = "replace " + sub + " of the specified " + kind
		}
		rt.reads, rt.writes = ep.object, ep.object
		rt.returns(http.StatusOK, "OK", ep.object)
		rt.returns(http.StatusCreated, "Created", ep.object)
		params = append(params, bodyParam(true))
		params = append(params, optionParams(&metav1.UpdateOptions{})...)
	case "PATCH":
		rt.method = http.MethodPatch
		operation = "patch" + name
		rt.description = "partially update the specified " + kind
		if sub != "" {
			rt.description = "partially update " + sub + " of the specified " + kind
		}
		rt.consumes = patchTypes
		rt.reads, rt.writes = &metav1.Patch{}, ep.object
		rt.returns(http.StatusOK, "OK", ep.object)
		rt.returns(http.StatusCreated, "Created", ep.object)
		params = append(params, bodyParam(true))
		params = append(params, optionParams(&metav1.PatchOptions{})...)
	case "POST":
		rt.method = http.MethodPost
		operation = "create" + name
		rt.description = "create" + article + kind
		if sub != "" {
			rt.description = "create " + sub + " of" + article + kind
		}
		rt.reads, rt.writes = ep.object, ep.object
		rt.returns(http.StatusOK, "OK", ep.object)
		rt.returns(http.StatusCreated, "Created", ep.object)
		rt.returns(http.StatusAccepted, "Accepted", ep.object)
		params = append(params, bodyParam(true))
		params = append(params, optionParams(&metav1.CreateOptions{})...)
	case "DELETE":
		rt.method = http.MethodDelete
		operation = "delete" + name
		rt.description = "delete" + article + kind
		var deleted interface{} = &metav1.Status{}
		if ep.deleteReturnsObject {
			deleted = ep.object
		}
		rt.reads, rt.writes = &metav1.DeleteOptions{}, deleted
		rt.returns(http.StatusOK, "OK", deleted)
		rt.returns(http.StatusAccepted, "Accepted", deleted)
		params = append(params, bodyParam(false))
		params = append(params, optionParams(&metav1.DeleteOptions{})...)
	case "DELETECOLLECTION":
		rt.method = http.MethodDelete
		operation = "deletecollection" + name
		rt.description = "delete collection of " + kind
		status := &metav1.Status{}
		rt.reads, rt.writes = &metav1.DeleteOptions{}, status
		rt.returns(http.StatusOK, "OK", status)
		params = append(params, bodyParam(false))
		params = append(params, optionParams(&metav1.DeleteOptions{})...)
		params = append(params, optionParams(&metav1.ListOptions{}, "watch", "allowWatchBookmarks")...)
	case "WATCH":
		rt.method = http.MethodGet
		operation = "watch" + name
		rt.description = "watch changes to an object of kind " + kind +
			". deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."
		rt.produces = append(append([]string{}, mediaTypes...), streamMediaTypes...)
		rt.writes = &metav1.WatchEvent{}
		rt.returns(http.StatusOK, "OK", &metav1.WatchEvent{})
		params = append(params, optionParams(&metav1.ListOptions{})...)
	case "WATCHLIST":
		rt.method = http.MethodGet
		operation = "watch" + namespaced + kind + title + "List" + suffix
		rt.description = "watch individual changes to a list of " + kind + ". deprecated: use the 'watch' parameter with a list operation instead."
		rt.produces = append(append([]string{}, mediaTypes...), streamMediaTypes...)
		rt.writes = &metav1.WatchEvent{}
		rt.returns(http.StatusOK, "OK", &metav1.WatchEvent{})
		params = append(params, optionParams(&metav1.ListOptions{})...)
	}
	rt.params = append(params, a.params...)
	rt.operationID, rt.tags = operationIDAndTags(operation, rt.path)
	return rt
}

// articleFor returns " a ", " an " or, for a plural kind such as
// Endpoints, " ", as upstream's GetArticleForNoun.
func articleFor(noun string) string {
	if !strings.HasSuffix(noun, "ss") && strings.HasSuffix(noun, "s") {
		return " "
	}
	if strings.ContainsRune("aeiouAEIOU", rune(noun[0])) {
		return " an "
	}
	return " a "
}
