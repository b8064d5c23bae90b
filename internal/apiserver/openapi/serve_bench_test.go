package openapi

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkServeBuiltIn is what a built-in document request costs the
// handler once the documents are built: /openapi/v2 in protobuf as
// kubectl asks for it, and /openapi/v3/apis/apps/v1, gzip'd.
func BenchmarkServeBuiltIn(b *testing.B) {
	d := New(testResources())
	if err := d.Build(); err != nil {
		b.Fatal(err)
	}
	benchServe(b, d)
	// With a CRD described: the built-in v3 documents are the same; v2
	// is the merged document.
	d.SetCRDs(crontabs())
	if v2, err := d.crdV2Doc(); err != nil || v2 == nil {
		b.Fatal("CRD not described")
	}
	b.Run("with-crd", func(b *testing.B) { benchServe(b, d) })
}

func crontabs() []*apiextensionsv1.CustomResourceDefinition {
	return []*apiextensionsv1.CustomResourceDefinition{crontab(1, map[string]string{"cronSpec": "when"})}
}

func benchServe(b *testing.B, d *Docs) {
	for _, c := range []struct{ name, path, accept string }{
		{"v2-protobuf", "/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
		{"v3-apps-v1", "/openapi/v3/apis/apps/v1", "application/json"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			req.Header.Set("Accept", c.accept)
			req.Header.Set("Accept-Encoding", "gzip")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				d.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", c.path, w.Code)
				}
			}
		})
	}
}
