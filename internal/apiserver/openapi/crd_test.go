package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// crontab is the CRD of the Kubernetes docs' CronTab example, established,
// with the given spec fields (name -> description) in v1 and a free-form
// v1beta1.
func crontab(generation int64, fields map[string]string) *apiextensionsv1.CustomResourceDefinition {
	props := map[string]apiextensionsv1.JSONSchemaProps{}
	for name, desc := range fields {
		props[name] = apiextensionsv1.JSONSchemaProps{Type: "string", Description: desc}
	}
	preserve := true
	names := apiextensionsv1.CustomResourceDefinitionNames{Plural: "crontabs", Singular: "crontab", Kind: "CronTab", ListKind: "CronTabList"}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "crontabs.stable.example.com", UID: types.UID("uid-crontab"), Generation: generation},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "stable.example.com",
			Scope: apiextensionsv1.NamespaceScoped,
			Names: names,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: &apiextensionsv1.CustomResourceValidation{
					OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", Description: "CronTab runs a cron job.", Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Description: "What the cron job runs.", Properties: props},
					}},
				}},
				{Name: "v1beta1", Served: true, Schema: &apiextensionsv1.CustomResourceValidation{
					OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve},
				}},
			},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{
			AcceptedNames: names,
			Conditions:    []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}},
		},
	}
}

func notEstablished(crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.CustomResourceDefinition {
	crd = crd.DeepCopy()
	crd.Status.Conditions = nil
	return crd
}

// v3Paths returns the /openapi/v3 discovery document's URLs by path.
func v3Paths(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, b := do(t, http.MethodGet, base+"/openapi/v3", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/openapi/v3: %s", resp.Status)
	}
	var disc v3Discovery
	if err := json.Unmarshal(b, &disc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range disc.Paths {
		out[k] = v.ServerRelativeURL
	}
	return out
}

// specFieldDescriptions returns what the v2 document says of CronTab
// v1's spec fields, or an error when it does not describe CronTab.
func specFieldDescriptions(t *testing.T, base string) (map[string]string, error) {
	t.Helper()
	resp, b := do(t, http.MethodGet, base+"/openapi/v2", map[string]string{"Accept": "application/json"})
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/openapi/v2: %s", resp.Status)
	}
	var doc struct {
		Definitions map[string]struct {
			Properties map[string]struct {
				Properties map[string]struct {
					Description string `json:"description"`
				} `json:"properties"`
			} `json:"properties"`
		} `json:"definitions"`
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	def, ok := doc.Definitions["com.example.stable.v1.CronTab"]
	if !ok {
		return nil, fmt.Errorf("no definition com.example.stable.v1.CronTab")
	}
	if _, ok := doc.Paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]; !ok {
		return nil, fmt.Errorf("no crontab path")
	}
	out := map[string]string{}
	for name, p := range def.Properties["spec"].Properties {
		out[name] = p.Description
	}
	return out, nil
}

// waitFor retries f until it returns nil or the deadline passes.
func waitFor(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCustomResourcesDescribed follows a CRD through its life: not
// described until established, described in v2 and in v3 (its own group
// versions, hashed), a new field shows with a new hash while the
// built-in documents keep theirs, and its group versions go with it.
func TestCustomResourcesDescribed(t *testing.T) {
	srv, d := testServer(t)
	base := srv.URL
	appsURL := v3Paths(t, base)["apis/apps/v1"]
	v2Before, _ := do(t, http.MethodGet, base+"/openapi/v2", nil)
	lastV1 := ""

	steps := []struct {
		name   string
		crds   []*apiextensionsv1.CustomResourceDefinition
		fields map[string]string // spec fields described; nil: CronTab not described
	}{
		{name: "not established", crds: []*apiextensionsv1.CustomResourceDefinition{notEstablished(crontab(1, map[string]string{"cronSpec": "when"}))}},
		{name: "established", crds: []*apiextensionsv1.CustomResourceDefinition{crontab(1, map[string]string{"cronSpec": "when"})},
			fields: map[string]string{"cronSpec": "when"}},
		{name: "gains a field", crds: []*apiextensionsv1.CustomResourceDefinition{crontab(2, map[string]string{"cronSpec": "when", "image": "what runs"})},
			fields: map[string]string{"cronSpec": "when", "image": "what runs"}},
		{name: "deleted"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			d.SetCRDs(st.crds)
			waitFor(t, "v3 discovery", func() error {
				paths := v3Paths(t, base)
				v1, ok := paths["apis/stable.example.com/v1"]
				_, beta := paths["apis/stable.example.com/v1beta1"]
				if st.fields == nil {
					if ok || beta {
						return fmt.Errorf("stable.example.com still listed: %s", v1)
					}
					return nil
				}
				if !ok || !beta {
					return fmt.Errorf("stable.example.com/v1 and v1beta1 not listed")
				}
				if v1 == lastV1 {
					return fmt.Errorf("v1 hash unchanged: %s", v1)
				}
				// The hashed URL is the document, cacheable for good.
				resp, b := do(t, http.MethodGet, base+v1, nil)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "public, immutable" {
					return fmt.Errorf("%s: %s, Cache-Control %q", v1, resp.Status, resp.Header.Get("Cache-Control"))
				}
				for name, desc := range st.fields {
					if !strings.Contains(string(b), fmt.Sprintf("%q:{\"description\":%q", name, desc)) {
						return fmt.Errorf("v3 document lacks spec.%s: %s", name, b)
					}
				}
				lastV1 = v1
				return nil
			})
			if got := v3Paths(t, base)["apis/apps/v1"]; got != appsURL {
				t.Errorf("apps/v1's URL changed: %s, was %s", got, appsURL)
			}
			waitFor(t, "v2", func() error {
				got, err := specFieldDescriptions(t, base)
				if st.fields == nil {
					if err == nil {
						return fmt.Errorf("CronTab still described")
					}
					return nil
				}
				if err != nil {
					return err
				}
				if fmt.Sprint(got) != fmt.Sprint(st.fields) {
					return fmt.Errorf("spec fields %v, want %v", got, st.fields)
				}
				return nil
			})
			resp, _ := do(t, http.MethodGet, base+"/openapi/v2", nil)
			sameAsBuiltIn := resp.Header.Get("Etag") == v2Before.Header.Get("Etag")
			if sameAsBuiltIn != (st.fields == nil) {
				t.Errorf("v2 ETag the built-in one: %v, with CronTab described: %v", sameAsBuiltIn, st.fields != nil)
			}
		})
	}
	// A deleted CRD's group version is gone, whatever the hash.
	resp, _ := do(t, http.MethodGet, base+"/openapi/v3/apis/stable.example.com/v1?hash=stale", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted group version: %s, want 404", resp.Status)
	}
}

// TestCustomResourcesStaleHash: a client holding an old hash of a CRD's
// document is sent to the current one.
func TestCustomResourcesStaleHash(t *testing.T) {
	srv, d := testServer(t)
	d.SetCRDs([]*apiextensionsv1.CustomResourceDefinition{crontab(1, map[string]string{"cronSpec": "when"})})
	var url string
	waitFor(t, "v3 discovery", func() error {
		url = v3Paths(t, srv.URL)["apis/stable.example.com/v1"]
		if url == "" {
			return fmt.Errorf("not listed")
		}
		return nil
	})
	resp, _ := do(t, http.MethodGet, srv.URL+"/openapi/v3/apis/stable.example.com/v1?hash=0123", nil)
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != url {
		t.Errorf("stale hash: %s to %q, want 301 to %q", resp.Status, resp.Header.Get("Location"), url)
	}
	resp, _ = do(t, http.MethodGet, srv.URL+url, map[string]string{"Accept": "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/"+v3Protobuf {
		t.Errorf("protobuf: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
}
