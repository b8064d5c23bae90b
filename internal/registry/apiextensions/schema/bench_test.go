package schema

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// benchWidget is an object of testdata/bench-crd.yaml (20 spec fields, 2
// CEL rules), the shape of the API benchmark, plus one unknown
// field for pruning to drop.
func benchWidget(i int) map[string]interface{} {
	spec := map[string]interface{}{"unknown": true}
	for f := 0; f < 20; f++ {
		switch f % 5 {
		case 0, 3:
			spec[fmt.Sprintf("field%02d", f)] = fmt.Sprintf("value-%d-%d", i, f)
		case 1, 4:
			spec[fmt.Sprintf("field%02d", f)] = int64(f + i%100)
		case 2:
			spec[fmt.Sprintf("field%02d", f)] = f%2 == 0
		}
	}
	return map[string]interface{}{
		"apiVersion": "bench.example.com/v1",
		"kind":       "Widget",
		"metadata":   map[string]interface{}{"name": fmt.Sprintf("w-%d", i), "namespace": "default", "labels": map[string]interface{}{"app": "bench"}},
		"spec":       spec,
	}
}

// BenchmarkCreate is the per-object schema work of a create: prune,
// default, validate (OpenAPI and the 2 CEL rules), for a body with an
// unknown field to drop and for a clean one (what the API benchmark's
// clients send), whose request prunes twice (field validation, then
// defaulting) as the server does.
func BenchmarkCreate(b *testing.B) {
	v, err := Compile(loadCRD(b, "bench-crd.yaml"), "v1")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		prunes int
		obj    func(i int) map[string]interface{}
	}{
		{"unknown field", 1, benchWidget},
		{"clean", 2, func(i int) map[string]interface{} {
			o := benchWidget(i)
			delete(o["spec"].(map[string]interface{}), "unknown")
			return o
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			objs := make([]map[string]interface{}, 100)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%len(objs) == 0 {
					b.StopTimer()
					for j := range objs {
						objs[j] = c.obj(i + j)
					}
					b.StartTimer()
				}
				o := objs[i%len(objs)]
				for p := 0; p < c.prunes; p++ {
					if _, err := v.Prune(o); err != nil {
						b.Fatal(err)
					}
				}
				v.Default(o)
				if errs := v.Validate(ctx, o, nil); len(errs) > 0 {
					b.Fatal(errs)
				}
			}
		})
	}
}

// BenchmarkUpdate is the same for an update (ratcheting, transition-aware
// CEL).
func BenchmarkUpdate(b *testing.B) {
	v, err := Compile(loadCRD(b, "bench-crd.yaml"), "v1")
	if err != nil {
		b.Fatal(err)
	}
	old := benchWidget(0)
	v.Prune(old)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := runtime.DeepCopyJSON(old)
		o["spec"].(map[string]interface{})["field01"] = int64(i % 3)
		if _, err := v.Prune(o); err != nil {
			b.Fatal(err)
		}
		v.Default(o)
		if errs := v.Validate(ctx, o, old); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// BenchmarkCompile is the cost of serving a new CRD generation.
func BenchmarkCompile(b *testing.B) {
	crd := loadCRD(b, "bench-crd.yaml")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Compile(crd, "v1"); err != nil {
			b.Fatal(err)
		}
	}
}
