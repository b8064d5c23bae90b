package customresource

import (
	"context"
	"reflect"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func crontabCRD() *apiextensionsv1.CustomResourceDefinition {
	sel := ".status.labelSelector"
	crd := &apiextensionsv1.CustomResourceDefinition{}
	crd.Name = "crontabs.stable.example.com"
	crd.Spec = apiextensionsv1.CustomResourceDefinitionSpec{
		Group: "stable.example.com", Scope: apiextensionsv1.NamespaceScoped,
		Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
			{Name: "v1beta1", Served: true},
			{Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
					Scale:  &apiextensionsv1.CustomResourceSubresourceScale{SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas", LabelSelectorPath: &sel},
				},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
					{Name: "Spec", Type: "string", JSONPath: ".spec.cronSpec"},
					{Name: "Replicas", Type: "integer", JSONPath: ".spec.replicas"},
					{Name: "Ready", Type: "boolean", JSONPath: ".status.ready"},
					{Name: "Ports", Type: "string", JSONPath: ".spec.ports"},
					{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"},
				}},
			{Name: "v2alpha1", Served: false},
		},
	}
	crd.Status.AcceptedNames = apiextensionsv1.CustomResourceDefinitionNames{Plural: "crontabs", Singular: "crontab", Kind: "CronTab", ShortNames: []string{"ct"}}
	return crd
}

func TestResource(t *testing.T) {
	crd := crontabCRD()
	if got := ServedVersions(crd); !reflect.DeepEqual(got, []string{"v1", "v1beta1"}) {
		t.Errorf("served versions %v", got)
	}
	for _, tc := range []struct {
		version              string
		wantErr, wantConvert bool
	}{
		{version: "v1"},
		{version: "v1beta1", wantConvert: true},
		{version: "v2alpha1", wantErr: true},
		{version: "v3", wantErr: true},
	} {
		r, err := Resource(crd, tc.version)
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: err %v", tc.version, err)
		}
		if err != nil {
			continue
		}
		if r.Resource != "crontabs" || r.Kind != "CronTab" || !r.Namespaced || r.StoragePrefix != "stable.example.com/crontabs" || (r.Convert != nil) != tc.wantConvert {
			t.Errorf("%s: %+v", tc.version, r)
		}
		u := r.New().(*unstructured.Unstructured)
		if u.GetAPIVersion() != "stable.example.com/"+tc.version || u.GetKind() != "CronTab" {
			t.Errorf("%s: New gives %s %s", tc.version, u.GetAPIVersion(), u.GetKind())
		}
		if tc.wantConvert {
			stored, err := r.Convert.ToStorage(context.Background(), u)
			if err != nil || stored.(*unstructured.Unstructured).GetAPIVersion() != "stable.example.com/v1" {
				t.Errorf("to storage: %v %v", stored, err)
			}
		}
	}
	// The Webhook strategy fails loudly instead of relabelling as None
	// when it has no webhook to call.
	hooked := crontabCRD()
	hooked.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter}
	r, err := Resource(hooked, "v1beta1")
	if err != nil {
		t.Fatal(err)
	}
	stored := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "stable.example.com/v1", "kind": "CronTab",
		"metadata": map[string]interface{}{"name": "a"}}}
	want := "conversion webhook for stable.example.com/v1, Kind=CronTab failed: spec.conversion.webhook.clientConfig is not set"
	if _, err := r.Convert.FromStorage(context.Background(), stored); err == nil || err.Error() != want {
		t.Errorf("webhook conversion: %v, want %q", err, want)
	}
	if _, err := Resource(&apiextensionsv1.CustomResourceDefinition{Spec: crd.Spec}, "v1"); err == nil {
		t.Error("served without accepted names")
	}
}

func TestTableAndScale(t *testing.T) {
	r, err := Resource(crontabCRD(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-90 * time.Second).UTC().Format(time.RFC3339)
	u := &unstructured.Unstructured{Object: map[string]interface{}{
		"metadata": map[string]interface{}{"name": "my", "creationTimestamp": created},
		"spec":     map[string]interface{}{"cronSpec": "* * * * */5", "replicas": int64(3), "ports": []interface{}{int64(80), int64(443)}},
		"status":   map[string]interface{}{"replicas": int64(2), "labelSelector": "app=cron"},
	}}
	var names []string
	for _, c := range r.Table.Columns {
		names = append(names, c.Name)
	}
	if !reflect.DeepEqual(names, []string{"Name", "Spec", "Replicas", "Ready", "Ports", "Age"}) {
		t.Errorf("columns %v", names)
	}
	cells, err := r.Table.Row(u)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"my", "* * * * */5", int64(3), nil, "[80,443]", "90s"}
	if !reflect.DeepEqual(cells, want) {
		t.Errorf("cells %#v, want %#v", cells, want)
	}
	spec, status, sel := r.Scale.Get(u)
	if spec != 3 || status != 2 || sel != "app=cron" {
		t.Errorf("scale %d %d %q", spec, status, sel)
	}
	r.Scale.Set(u, 5)
	if n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); n != 5 {
		t.Errorf("set replicas: %d", n)
	}
	noColumns := crontabCRD()
	noColumns.Spec.Versions[1].AdditionalPrinterColumns = nil
	r, _ = Resource(noColumns, "v1")
	if len(r.Table.Columns) != 2 || r.Table.Columns[1].Name != "Age" {
		t.Errorf("default columns %v", r.Table.Columns)
	}
}
