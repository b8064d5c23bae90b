package schema

import (
	"fmt"

	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
)

// Prune drops the fields of obj the schema does not know (unless it says
// x-kubernetes-preserve-unknown-fields), the nulls of non-nullable fields
// without a default, and unknown fields of metadata (the root's and
// embedded resources'), as upstream's decoder does with a request body. It
// returns the dropped fields' paths ("spec.foo", "metadata.bar",
// "spec.items[0].x") for field validation. It fails when metadata does not
// decode as ObjectMeta (upstream answers 400 to such a body).
func (v *Version) Prune(obj map[string]interface{}) (unknown []string, err error) {
	return v.prune(obj, false)
}

// PruneStored prunes an object read from storage, as upstream's storage
// decoder does: like Prune, but malformed metadata fields are dropped
// rather than refused, and a missing metadata.generation becomes 1.
func (v *Version) PruneStored(obj map[string]interface{}) error {
	_, err := v.prune(obj, true)
	return err
}

func (v *Version) prune(obj map[string]interface{}, stored bool) (unknown []string, err error) {
	if obj == nil || v.pruneClean(obj, stored) {
		return nil, nil
	}
	return v.pruneUpstream(obj, stored)
}

// pruneClean finishes pruning obj when upstream's would change nothing
// but drop a null metadata.creationTimestamp (as Go clients send it),
// and reports true; otherwise it leaves obj alone for upstream's.
func (v *Version) pruneClean(obj map[string]interface{}, stored bool) bool {
	md, foundMeta := obj["metadata"]
	state := metadataSame
	if foundMeta {
		if state = readMetadata(md, stored); state == metadataOther {
			return false
		}
	}
	if v.structural != nil {
		// Without an embedded resource below the root (pruneRoot is
		// nil with one), coercion changes nothing.
		if v.pruneRoot == nil || (!v.preserveUnknownFields && !v.pruneRoot.clean(obj)) {
			return false
		}
	}
	if state == metadataNullTimestamp {
		// Upstream sets a new map; so does this, sharing the values.
		m := md.(map[string]interface{})
		out := make(map[string]interface{}, len(m))
		for k, e := range m {
			if k != "creationTimestamp" {
				out[k] = e
			}
		}
		obj["metadata"] = out
	}
	return true
}

// pruneUpstream prunes with upstream's pruning, null pruning and
// coercion, and the metadata round trip.
func (v *Version) pruneUpstream(obj map[string]interface{}, stored bool) (unknown []string, err error) {
	// Upstream keeps apiVersion, kind and metadata aside, prunes, and puts
	// them back: the root's metadata is decoded as ObjectMeta, whatever the
	// schema says of it.
	kind, foundKind := obj["kind"]
	apiVersion, foundAPIVersion := obj["apiVersion"]
	meta, foundMeta, metaUnknown, err := schemaobjectmeta.GetObjectMetaWithOptions(obj, schemaobjectmeta.ObjectMetaOptions{
		DropMalformedFields:     stored,
		ReturnUnknownFieldPaths: !stored,
	})
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	unknown = append(unknown, metaUnknown...)

	if !v.preserveUnknownFields && v.structural != nil {
		unknown = append(unknown, structuralpruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: !stored})...)
		structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, v.structural)
	}
	if v.structural != nil {
		ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, obj, v.structural, false, schemaobjectmeta.CoerceOptions{
			DropInvalidFields:       stored,
			ReturnUnknownFieldPaths: !stored,
		})
		if ferr != nil {
			return nil, ferr
		}
		unknown = append(unknown, paths...)
	}
	if stored && meta != nil && meta.Generation == 0 {
		meta.Generation = 1
	}

	if foundKind {
		obj["kind"] = kind
	}
	if foundAPIVersion {
		obj["apiVersion"] = apiVersion
	}
	if foundMeta {
		if err := schemaobjectmeta.SetObjectMeta(obj, meta); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	}
	return unknown, nil
}
