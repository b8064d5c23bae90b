package apiserver

import (
	"net/http/httptest"
	"testing"
)

// TestNegotiate: the response type an Accept header gets, as upstream's
// negotiation gives it.
func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		accept    string
		ok        bool
		mediaType string
		as        string
	}{
		{"", true, mediaJSON, ""},
		{"application/json", true, mediaJSON, ""},
		{"*/*", true, mediaJSON, ""},
		{"application/yaml", true, mediaYAML, ""},
		{"application/vnd.kubernetes.protobuf", true, mediaProtobuf, ""},
		{"text/html", false, "", ""},
		{"application/json;as=Table;v=v1;g=meta.k8s.io", true, mediaJSON, "Table"},
		{"application/yaml;as=Table;v=v1beta1;g=meta.k8s.io", true, mediaYAML, "Table"},
		// A Table has no protobuf form: the next clause is taken.
		{"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", false, "", ""},
		{"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1;g=meta.k8s.io", true, mediaJSON, "Table"},
		{"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/vnd.kubernetes.protobuf", true, mediaProtobuf, ""},
		{"application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", true, mediaProtobuf, "PartialObjectMetadataList"},
		{"application/json;as=Table;v=v2;g=meta.k8s.io", false, "", ""},
	} {
		r := httptest.NewRequest("GET", "/api/v1/pods", nil)
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		out, ok := negotiate(r)
		if ok != tc.ok || out.mediaType != tc.mediaType || out.as != tc.as {
			t.Errorf("Accept %q: %v %q as=%q, want %v %q as=%q", tc.accept, ok, out.mediaType, out.as, tc.ok, tc.mediaType, tc.as)
		}
	}
}

// TestNegotiatePlain: an endpoint that answers only its own kind (a
// review) takes the first clause without as=, and none is a 406.
func TestNegotiatePlain(t *testing.T) {
	for _, tc := range []struct {
		accept    string
		ok        bool
		mediaType string
	}{
		{"", true, mediaJSON},
		{"application/vnd.kubernetes.protobuf", true, mediaProtobuf},
		{"application/json;as=Table;v=v1;g=meta.k8s.io", false, ""},
		{"application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", false, ""},
		// kubectl's Accept for get: the last clause is plain JSON.
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", true, mediaJSON},
	} {
		r := httptest.NewRequest("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", nil)
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		out, ok := negotiatePlain(r)
		if ok != tc.ok || out.mediaType != tc.mediaType || out.as != "" {
			t.Errorf("Accept %q: %v %q as=%q, want %v %q", tc.accept, ok, out.mediaType, out.as, tc.ok, tc.mediaType)
		}
	}
}
