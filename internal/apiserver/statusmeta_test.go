package apiserver

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/all"
	"github.com/kemudi/kemudi/internal/registry/apiextensions/customresource"
)

// statusMetaWant is what upstream 1.37 does on an update through a
// status-like subresource (k8s.io/kubernetes pkg/registry/*/*/strategy.go,
// kube-aggregator's and apiextensions-apiserver's): request lists the
// request's metadata changes that persist ("whole" when none of the
// object's metadata but managedFields changes), reset the status
// strategy's GetResetFields, which the status manager never owns.
type statusMetaWant struct{ request, reset string }

const (
	allMeta   = "annotations finalizers labels ownerReferences"
	resetSpec = "spec"
	resetMeta = "metadata spec"
)

// statusMetaUpstream is written out kind by kind from upstream's
// strategies: the older kinds reset only the spec (pods their owner
// references, deployments their labels), the newer ones call
// metav1.ResetObjectMetaForStatus, custom resources keep all of the
// stored metadata. The CRD's own status strategy resets the new
// object's metadata from itself (kubernetes#137681), so the request's
// stays there too.
var statusMetaUpstream = map[string]statusMetaWant{
	"v1 pods/status":                                                     {"annotations finalizers labels", "metadata.deletionTimestamp metadata.ownerReferences spec"},
	"v1 pods/ephemeralcontainers":                                        {request: ""},
	"v1 pods/resize":                                                     {request: ""},
	"v1 nodes/status":                                                    {allMeta, resetSpec},
	"v1 persistentvolumes/status":                                        {allMeta, resetSpec},
	"v1 persistentvolumeclaims/status":                                   {allMeta, resetSpec},
	"v1 services/status":                                                 {allMeta, resetSpec},
	"v1 namespaces/status":                                               {allMeta, resetSpec},
	"v1 replicationcontrollers/status":                                   {allMeta, resetSpec},
	"v1 resourcequotas/status":                                           {allMeta, resetSpec},
	"apps/v1 replicasets/status":                                         {allMeta, resetSpec},
	"apps/v1 daemonsets/status":                                          {allMeta, resetSpec},
	"apps/v1 statefulsets/status":                                        {allMeta, resetSpec},
	"apps/v1 deployments/status":                                         {"annotations finalizers ownerReferences", "metadata.labels spec"},
	"batch/v1 jobs/status":                                               {allMeta, resetSpec},
	"batch/v1 cronjobs/status":                                           {allMeta, resetSpec},
	"autoscaling/v1 horizontalpodautoscalers/status":                     {allMeta, resetSpec},
	"autoscaling/v2 horizontalpodautoscalers/status":                     {allMeta, resetSpec},
	"policy/v1 poddisruptionbudgets/status":                              {allMeta, resetSpec},
	"networking.k8s.io/v1 ingresses/status":                              {allMeta, resetSpec},
	"certificates.k8s.io/v1 certificatesigningrequests/status":           {allMeta, resetSpec},
	"certificates.k8s.io/v1 certificatesigningrequests/approval":         {request: allMeta},
	"storage.k8s.io/v1 volumeattachments/status":                         {"", resetMeta},
	"admissionregistration.k8s.io/v1 validatingadmissionpolicies/status": {"", resetMeta},
	"apiregistration.k8s.io/v1 apiservices/status":                       {"", resetMeta},
	"flowcontrol.apiserver.k8s.io/v1 flowschemas/status":                 {"whole", resetMeta},
	"flowcontrol.apiserver.k8s.io/v1 prioritylevelconfigurations/status": {"whole", resetMeta},
	"apiextensions.k8s.io/v1 customresourcedefinitions/status":           {allMeta, resetSpec},
	"example.com/v1 widgets/status":                                      {"whole", resetMeta},
}

// TestStatusUpdateMetadata: an update through each status-like
// subresource the server serves keeps the request's metadata changes
// upstream keeps, and no others; identity and deletion never change
// through status. Every such subresource needs its row above: a new kind
// cannot slip through with the default.
func TestStatusUpdateMetadata(t *testing.T) {
	resources := append(all.Resources(), widgetResource(t))
	served := map[string]bool{}
	for _, r := range resources {
		if !r.HasStatus {
			continue
		}
		ep := newEndpoint(r)
		subs := []string{"status"}
		for sub := range r.StatusLike {
			subs = append(subs, sub)
		}
		for _, sub := range subs {
			name := r.GroupVersion.String() + " " + r.Resource + "/" + sub
			served[name] = true
			t.Run(name, func(t *testing.T) {
				want, ok := statusMetaUpstream[name]
				if !ok {
					t.Fatalf("no upstream behaviour written down for %s", name)
				}
				if got := statusUpdateKeeps(t, ep, sub); got != want.request {
					t.Errorf("request's metadata kept: %q, want %q", got, want.request)
				}
				if sub != "status" {
					return
				}
				if got := statusResetOf(ep); got != want.reset {
					t.Errorf("reset fields %q, want %q", got, want.reset)
				}
			})
		}
	}
	for name := range statusMetaUpstream {
		if !served[name] {
			t.Errorf("%s is not served", name)
		}
	}
}

// statusUpdateKeeps runs a status update that changes every metadata
// field on an object of ep and names the changes that persist.
func statusUpdateKeeps(t *testing.T, ep *endpoint, sub string) string {
	t.Helper()
	created := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	deleting := metav1.NewTime(created.Add(time.Hour))
	old := ep.New()
	om, err := meta.Accessor(old)
	if err != nil {
		t.Fatal(err)
	}
	om.SetName("x")
	om.SetGenerateName("old-")
	if ep.Namespaced {
		om.SetNamespace("default")
	}
	om.SetUID("uid-old")
	om.SetResourceVersion("5")
	om.SetGeneration(3)
	om.SetCreationTimestamp(created)
	om.SetDeletionTimestamp(&deleting)
	om.SetLabels(map[string]string{"a": "old"})
	om.SetAnnotations(map[string]string{"a": "old"})
	om.SetFinalizers([]string{"example.com/old"})
	om.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "old", UID: "o1"}})

	obj := old.DeepCopyObject()
	m, _ := meta.Accessor(obj)
	later := metav1.NewTime(created.Add(2 * time.Hour))
	m.SetGenerateName("new-")
	m.SetUID("")
	m.SetGeneration(9)
	m.SetCreationTimestamp(later)
	m.SetDeletionTimestamp(&later)
	m.SetLabels(map[string]string{"a": "new"})
	m.SetAnnotations(map[string]string{"a": "new"})
	m.SetFinalizers([]string{"example.com/new"})
	m.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "new", UID: "o2"}})

	prepareStatusUpdate(context.Background(), ep, obj, old, sub)

	m, _ = meta.Accessor(obj)
	if m.GetUID() != "uid-old" || m.GetGeneration() != 3 || !m.GetCreationTimestamp().Time.Equal(created.Time) ||
		m.GetDeletionTimestamp() == nil || !m.GetDeletionTimestamp().Equal(&deleting) {
		t.Errorf("identity or deletion changed: uid %q generation %d created %v deleting %v",
			m.GetUID(), m.GetGeneration(), m.GetCreationTimestamp(), m.GetDeletionTimestamp())
	}
	var kept []string
	for _, f := range []struct {
		name string
		new  bool
	}{
		{"annotations", m.GetAnnotations()["a"] == "new"},
		{"finalizers", slices.Equal(m.GetFinalizers(), []string{"example.com/new"})},
		{"labels", m.GetLabels()["a"] == "new"},
		{"ownerReferences", len(m.GetOwnerReferences()) == 1 && m.GetOwnerReferences()[0].Name == "new"},
	} {
		if f.new {
			kept = append(kept, f.name)
		}
	}
	if len(kept) == 0 && m.GetGenerateName() == "old-" {
		return "whole"
	}
	return strings.Join(kept, " ")
}

// statusResetOf names the fields the status manager of ep may not own,
// "metadata" when it owns none of it.
func statusResetOf(ep *endpoint) string {
	probes := []string{"spec", "status", "metadata.labels", "metadata.annotations", "metadata.finalizers",
		"metadata.ownerReferences", "metadata.deletionTimestamp"}
	set := fieldpath.NewSet()
	for _, p := range probes {
		var path []interface{}
		for _, s := range strings.Split(p, ".") {
			path = append(path, s)
		}
		set.Insert(fieldpath.MakePathOrDie(path...))
	}
	filter := resetFields(ep, "status", nil)[fieldpath.APIVersion(ep.GroupVersion.String())]
	left := filter.Filter(set)
	var reset, metaPaths []string
	for _, p := range probes {
		var path []interface{}
		for _, s := range strings.Split(p, ".") {
			path = append(path, s)
		}
		if left.Has(fieldpath.MakePathOrDie(path...)) {
			continue
		}
		if strings.HasPrefix(p, "metadata.") {
			metaPaths = append(metaPaths, p)
			continue
		}
		reset = append(reset, p)
	}
	if len(metaPaths) == 5 {
		metaPaths = []string{"metadata"}
	}
	reset = append(reset, metaPaths...)
	sort.Strings(reset)
	return strings.Join(reset, " ")
}

// widgetResource is a custom resource with a status subresource, built
// as the server builds those of an established CRD.
func widgetResource(t *testing.T) *registry.Resource {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: "Widget"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptrTo(true),
				}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
		Status: apiextensionsv1.CustomResourceDefinitionStatus{
			AcceptedNames:  apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: "Widget"},
			StoredVersions: []string{"v1"},
		},
	}
	r, err := customresource.Resource(crd, "v1")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ptrTo[T any](v T) *T { return &v }
