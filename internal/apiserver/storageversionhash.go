package apiserver

import (
	"crypto/sha256"
	"encoding/base64"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// storageVersionHash is what discovery gives as a resource's
// storageVersionHash, upstream's: the first 8 bytes of the SHA-256 of
// "group/version/kind" of the version objects are stored in, in base64.
// Clients (the storage version migrator) only compare it for equality:
// it changes when the storage version does.
func storageVersionHash(gvk schema.GroupVersionKind) string {
	sum := sha256.Sum256([]byte(gvk.Group + "/" + gvk.Version + "/" + gvk.Kind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

// storageKinds finds the kind each endpoint's objects are stored as: a
// CRD's storage version; for a view of another resource's storage
// (events.k8s.io events, autoscaling/v1 horizontal pod autoscalers), the
// kind of the endpoint that owns that storage; else its own. Review APIs
// store nothing and have none, as upstream.
func storageKinds(eps []*endpoint) map[*endpoint]schema.GroupVersionKind {
	owners := map[string]schema.GroupVersionKind{}
	for _, ep := range eps {
		if !ep.review && ep.Convert == nil && ep.custom == nil {
			owners[ep.prefix] = ep.gvk
		}
	}
	out := make(map[*endpoint]schema.GroupVersionKind, len(eps))
	for _, ep := range eps {
		switch {
		case ep.review:
		case ep.custom != nil:
			if !ep.custom.storage.Empty() {
				out[ep] = ep.custom.storage
			}
		default:
			if gvk, ok := owners[ep.prefix]; ok {
				out[ep] = gvk
			} else {
				out[ep] = ep.gvk
			}
		}
	}
	return out
}
