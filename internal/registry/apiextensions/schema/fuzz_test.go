package schema

import (
	"context"
	"testing"

	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// FuzzVersion feeds arbitrary JSON bodies through what the server does with
// a custom object (prune, default, validate on create, update and status
// update, warnings, and reading it back from storage): nothing may panic,
// whatever the body.
func FuzzVersion(f *testing.F) {
	for _, seed := range [][2]string{
		{`{"apiVersion":"stable.example.com/v1","kind":"CronTab","metadata":{"name":"a"},"spec":{"cronSpec":"* * * * *","replicas":1,"minReplicas":2}}`, `{}`},
		{`{"apiVersion":"stable.example.com/v1","kind":"CronTab","spec":{"replicas":"x","ports":[{"name":"a"},{"name":"a"}],"tags":["a","a"]}}`,
			`{"apiVersion":"stable.example.com/v1","kind":"CronTab","spec":{"cronSpec":"1 * * * *"}}`},
		{`{"spec":{"template":{"apiVersion":5,"kind":[],"metadata":{"name":"a/b","labels":null}}},"status":{"replicas":-1,"selector":{}}}`, `{"spec":null}`},
		{`{"metadata":"x","spec":[1,2],"status":"s"}`, `{"metadata":{"name":1}}`},
		{`{"spec":{"port":1.5,"email":null,"mode":null,"labels":{"a":null},"extra":{"x":{"y":[null]}}}}`, `{"spec":{"port":"a"}}`},
	} {
		f.Add(seed[0], seed[1])
	}
	v, err := Compile(loadCRD(f, "crontab-crd.yaml"), "v1")
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body, oldBody string) {
		obj, old, stored := map[string]interface{}{}, map[string]interface{}{}, map[string]interface{}{}
		if utiljson.Unmarshal([]byte(body), &obj) != nil || utiljson.Unmarshal([]byte(oldBody), &old) != nil {
			return
		}
		if obj == nil || old == nil { // the body was "null"
			return
		}
		_ = utiljson.Unmarshal([]byte(body), &stored)
		if v.PruneStored(stored) == nil {
			v.Default(stored)
		}
		if _, err := v.Prune(obj); err != nil {
			return // the server answers 400
		}
		v.Default(obj)
		v.Prune(old)
		v.Default(old)
		v.Validate(ctx, obj, nil)
		v.Validate(ctx, obj, old)
		v.ValidateStatus(ctx, obj, old)
		v.Warnings(obj, old)
	})
}
