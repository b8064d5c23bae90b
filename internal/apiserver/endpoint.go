package apiserver

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/storage"
)

// endpoint is one served resource with what the handlers derive from it.
type endpoint struct {
	*registry.Resource
	gvr     schema.GroupVersionResource
	gvk     schema.GroupVersionKind
	listGVK schema.GroupVersionKind
	// prefix is the etcd key prefix of its objects: /registry/<resource>/.
	prefix string
	// alloc, when set, takes from shared pools on writes (services).
	alloc allocation
	// review marks a create-only review API (serveReview answers it).
	review bool
	// custom is set for a CustomResourceDefinition's resource.
	custom *customEndpoint
}

// verbs are what discovery lists for the endpoint.
func (e *endpoint) verbs() []string {
	if e.review {
		return createOnly
	}
	return allVerbs
}

func newEndpoint(r *registry.Resource) *endpoint {
	sp := r.StoragePrefix
	if sp == "" {
		sp = r.Resource
	}
	return &endpoint{
		Resource: r,
		gvr:      r.GroupVersion.WithResource(r.Resource),
		gvk:      r.GroupVersion.WithKind(r.Kind),
		listGVK:  r.GroupVersion.WithKind(r.Kind + "List"),
		prefix:   storage.Prefix + sp + "/",
	}
}

func (e *endpoint) groupResource() schema.GroupResource { return e.gvr.GroupResource() }

// key is where the object lives in etcd.
func (e *endpoint) key(namespace, name string) string {
	if e.Namespaced {
		return e.prefix + namespace + "/" + name
	}
	return e.prefix + name
}

// listPrefix is the key prefix of a list in one namespace, or of all.
func (e *endpoint) listPrefix(namespace string) string {
	if e.Namespaced && namespace != "" {
		return e.prefix + namespace + "/"
	}
	return e.prefix
}
