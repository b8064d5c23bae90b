package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// rawStatus sends a raw request with the admin's credentials and decodes
// the metav1.Status the server answers with.
func rawStatus(t *testing.T, s *clustertest.Server, method, path, contentType string, body []byte) (int, metav1.Status) {
	t.Helper()
	tr, err := rest.TransportFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var st metav1.Status
	_ = json.Unmarshal(data, &st)
	return resp.StatusCode, st
}

func causes(st metav1.Status) []string {
	var out []string
	if st.Details != nil {
		for _, c := range st.Details.Causes {
			out = append(out, c.Field)
		}
	}
	return out
}

func TestBadInputGetsUpstreamErrors(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keep"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const cms = "/api/v1/namespaces/default/configmaps"
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 3*1024*1024) + `"}}`
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		code        int
		reason      metav1.StatusReason
		message     string
		fields      []string
	}{
		{"malformed json", "POST", cms, "application/json", `{"apiVersion":"v1","kind":`, 400, metav1.StatusReasonBadRequest, "", nil},
		{"malformed yaml", "POST", cms, "application/yaml", "apiVersion: v1\nkind: [", 400, metav1.StatusReasonBadRequest, "", nil},
		{"unregistered apiVersion and kind", "POST", cms, "application/json", `{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest, `no kind "ConfigMap" is registered for version "apps/v1"`, nil},
		{"wrong apiVersion", "POST", cms, "application/json", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest, "the API version in the data (apps/v1) does not match the expected API version (v1)", nil},
		{"wrong kind", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest, "", nil},
		{"unknown field under Strict", "POST", cms + "?fieldValidation=Strict", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"dta":{}}`, 400, metav1.StatusReasonBadRequest, `unknown field "dta"`, nil},
		{"name not DNS-1123", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}`, 422, metav1.StatusReasonInvalid, "", []string{"metadata.name"}},
		{"missing name", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`, 422, metav1.StatusReasonInvalid, "name or generateName is required", []string{"metadata.name"}},
		{"bad data key", "POST", cms, "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"k"},"data":{"a b":"c"}}`, 422, metav1.StatusReasonInvalid, "", []string{"data[a b]"}},
		{"negative replicas", "POST", "/apis/apps/v1/namespaces/default/deployments", "application/json",
			`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":-1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}`,
			422, metav1.StatusReasonInvalid, "", []string{"spec.replicas"}},
		{"oversized body", "POST", cms, "application/json", big, 413, metav1.StatusReasonRequestEntityTooLarge, "", nil},
		{"unknown content type", "POST", cms, "text/plain", "hello", 415, metav1.StatusReasonUnsupportedMediaType, "", nil},
		{"invalid label selector", "GET", cms + "?labelSelector=a%20in%20(b", "", "", 400, metav1.StatusReasonBadRequest, "", nil},
		{"stale resourceVersion", "PUT", cms + "/keep", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep","resourceVersion":"1"},"data":{"a":"2"}}`, 409, metav1.StatusReasonConflict, "the object has been modified", nil},
		{"name mismatch on update", "PUT", cms + "/keep", "application/json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other"}}`, 400, metav1.StatusReasonBadRequest, "does not match the name on the URL", nil},
		{"unknown resource", "GET", "/api/v1/namespaces/default/widgets", "", "", 404, metav1.StatusReasonNotFound, "", nil},
		{"missing object", "GET", cms + "/nope", "", "", 404, metav1.StatusReasonNotFound, `configmaps "nope" not found`, nil},
		{"bad patch type", "PATCH", cms + "/keep", "application/json", `{}`, 415, metav1.StatusReasonUnsupportedMediaType, "", nil},
		{"malformed merge patch", "PATCH", cms + "/keep", "application/merge-patch+json", `{"data":`, 400, metav1.StatusReasonBadRequest, "", nil},
		{"bad fieldValidation", "POST", cms + "?fieldValidation=Maybe", "application/json", `{}`, 400, metav1.StatusReasonBadRequest, "fieldValidation", nil},
		{"bad continue token", "GET", cms + "?limit=1&continue=xyz", "", "", 400, metav1.StatusReasonBadRequest, "continue", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, st := rawStatus(t, s, tc.method, tc.path, tc.contentType, []byte(tc.body))
			if code != tc.code || st.Reason != tc.reason || int(st.Code) != tc.code {
				t.Fatalf("got %d %s (%d) %q, want %d %s", code, st.Reason, st.Code, st.Message, tc.code, tc.reason)
			}
			if tc.message != "" && !strings.Contains(st.Message, tc.message) {
				t.Errorf("message %q lacks %q", st.Message, tc.message)
			}
			if tc.fields != nil && strings.Join(causes(st), ",") != strings.Join(tc.fields, ",") {
				t.Errorf("causes %v, want %v", causes(st), tc.fields)
			}
		})
	}
	// Nothing stored changed.
	cm, err := s.Client.CoreV1().ConfigMaps("default").Get(ctx, "keep", metav1.GetOptions{})
	if err != nil || cm.Data["a"] != "1" {
		t.Fatalf("stored object changed: %v %v", err, cm.Data)
	}
	list, _ := s.Client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if len(list.Items) != 1 {
		t.Fatalf("bad requests stored objects: %d configmaps", len(list.Items))
	}
}
