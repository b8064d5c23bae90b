package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what a resource request's path and method say.
type requestInfo struct {
	// Group is "" for the core group (/api/v1).
	Group, Version string
	Namespace      string
	Resource       string
	Name           string
	Subresource    string
	// ProxyPath is what follows .../proxy in a proxy subresource's path
	// ("/stats/summary" of /api/v1/nodes/n/proxy/stats/summary).
	ProxyPath string
	// Verb is the Kubernetes verb: get, list, watch, create, update, patch,
	// delete, deletecollection.
	Verb string
}

// parseResourcePath reads /api/v1/... and /apis/<group>/<version>/...
// paths. It returns ok=false for paths that are not resource requests
// (discovery documents included).
func parseResourcePath(r *http.Request) (requestInfo, bool) {
	var info requestInfo
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		info.Version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		info.Group, info.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return info, false
	}
	watchPath := false
	if parts[0] == "watch" {
		// The deprecated /watch/ path prefix.
		watchPath, parts = true, parts[1:]
	}
	// /namespaces/<ns>/<resource>... addresses a namespaced resource, but
	// /namespaces/<name>/status and /finalize address the namespace itself.
	if len(parts) > 2 && parts[0] == "namespaces" && parts[2] != "status" && parts[2] != "finalize" {
		info.Namespace, parts = parts[1], parts[2:]
	}
	if len(parts) == 3 && parts[2] == "proxy" && strings.HasSuffix(r.URL.Path, "/") {
		info.ProxyPath = "/"
	}
	if len(parts) > 3 && parts[2] == "proxy" {
		consumed := len(splitPath(r.URL.Path)) - len(parts)
		info.ProxyPath, parts = proxyPath(r.URL.Path, consumed+3), parts[:3]
	}
	if len(parts) == 0 || len(parts) > 3 {
		return info, false
	}
	info.Resource = parts[0]
	if len(parts) >= 2 {
		info.Name = parts[1]
	}
	if len(parts) == 3 {
		info.Subresource = parts[2]
	}
	info.Verb = verbFor(r, info.Name != "", watchPath)
	return info, true
}

func verbFor(r *http.Request, named, watchPath bool) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query().Get("watch")
		if watchPath || q == "true" || q == "1" {
			return "watch"
		}
		if named {
			return "get"
		}
		return "list"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if named {
			return "delete"
		}
		return "deletecollection"
	}
	return ""
}

// proxyPath is the path after the first n segments of p (those up to
// a proxy subresource), with its trailing slash kept.
func proxyPath(p string, n int) string {
	rest := strings.TrimLeft(p, "/")
	for range n {
		_, after, ok := strings.Cut(rest, "/")
		if !ok {
			return "/"
		}
		rest = after
	}
	return "/" + rest
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
