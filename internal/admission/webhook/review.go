package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/auth"
)

// appendReview appends the AdmissionReview (admission.k8s.io/v1) of seen
// as JSON: the bytes json.Marshal writes for admissionv1.AdmissionReview
// (same fields, order and omissions), written directly. The objects, by
// far the largest part, are copied in as encoded: json.Marshal would scan
// and compact a RawExtension's bytes again. requestKind and
// requestResource are r's, the request as made.
func appendReview(b []byte, seen, r *auth.AdmissionRequest, uid types.UID, e encoded) ([]byte, error) {
	b = append(b, `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":`...)
	b = appendString(b, string(uid))
	b = append(b, `,"kind":`...)
	b = appendTriple(b, "version", "kind", seen.Kind.Group, seen.Kind.Version, seen.Kind.Kind)
	b = append(b, `,"resource":`...)
	b = appendTriple(b, "version", "resource", seen.APIGroup, seen.Version, seen.Resource)
	b = appendOptional(b, `,"subResource":`, r.Subresource)
	b = append(b, `,"requestKind":`...)
	b = appendTriple(b, "version", "kind", r.Kind.Group, r.Kind.Version, r.Kind.Kind)
	b = append(b, `,"requestResource":`...)
	b = appendTriple(b, "version", "resource", r.APIGroup, r.Version, r.Resource)
	b = appendOptional(b, `,"requestSubResource":`, r.Subresource)
	b = appendOptional(b, `,"name":`, r.Name)
	b = appendOptional(b, `,"namespace":`, requestNamespace(r))
	b = append(b, `,"operation":`...)
	b = appendString(b, r.Operation)
	b = append(b, `,"userInfo":`...)
	b, err := appendUser(b, r.User)
	if err != nil {
		return nil, err
	}
	b = appendRaw(append(b, `,"object":`...), e.object)
	b = appendRaw(append(b, `,"oldObject":`...), e.old)
	b = strconv.AppendBool(append(b, `,"dryRun":`...), r.DryRun)
	b = appendRaw(append(b, `,"options":`...), e.options)
	return append(b, "}}"...), nil
}

// appendTriple appends a GroupVersionKind or GroupVersionResource
// ({"group":…,"version":…,"<third>":…}, no field omitted).
func appendTriple(b []byte, second, third, group, version, last string) []byte {
	b = appendString(append(b, `{"group":`...), group)
	b = appendString(append(append(append(b, `,"`...), second...), `":`...), version)
	b = appendString(append(append(append(b, `,"`...), third...), `":`...), last)
	return append(b, '}')
}

// appendOptional appends key and s unless s is empty (omitempty).
func appendOptional(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

// appendRaw appends an encoded object, or null for none (as a
// RawExtension without bytes marshals).
func appendRaw(b, raw []byte) []byte {
	if raw == nil {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// appendUser appends the authentication.k8s.io/v1 UserInfo of u.
func appendUser(b []byte, u *auth.User) ([]byte, error) {
	if u == nil {
		return append(b, "{}"...), nil
	}
	b = append(b, '{')
	sep := func() {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	if u.Name != "" {
		b = appendString(append(b, `"username":`...), u.Name)
	}
	if u.UID != "" {
		sep()
		b = appendString(append(b, `"uid":`...), u.UID)
	}
	if len(u.Groups) > 0 {
		sep()
		b = append(b, `"groups":[`...)
		for i, g := range u.Groups {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, g)
		}
		b = append(b, ']')
	}
	if len(u.Extra) > 0 {
		// Rare and small: json.Marshal sorts the keys as the typed
		// review's map would be.
		extra, err := json.Marshal(u.Extra)
		if err != nil {
			return nil, fmt.Errorf("encode the user's extra for admission: %w", err)
		}
		sep()
		b = append(append(b, `"extra":`...), extra...)
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string, exactly as json.Marshal
// writes it: plain ASCII directly, anything that needs escaping (quotes,
// control characters, HTML's <>&, non-ASCII) through json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
