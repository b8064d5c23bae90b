package apiserver_test

import (
	"strings"
	"testing"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	upstreamdiscovery "k8s.io/apiserver/pkg/endpoints/discovery"
	"k8s.io/client-go/discovery"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestStorageVersionHash: legacy discovery gives every stored resource
// upstream's storageVersionHash of the kind it is stored as (views of
// another resource's storage share its hash; a CRD's versions share the
// storage version's), and none to the review APIs, which store nothing.
func TestStorageVersionHash(t *testing.T) {
	s := clustertest.Start(t)
	ext := apiextensionsclient.NewForConfigOrDie(s.Config)
	// Two served versions, v1 stored: both give v1's hash.
	createCRD(t, ext, loadCRD(t), established)

	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	hashOf := func(gv, resource string) string {
		t.Helper()
		list, err := dc.ServerResourcesForGroupVersion(gv)
		if err != nil {
			t.Fatalf("discovery of %s: %v", gv, err)
		}
		for _, r := range list.APIResources {
			if r.Name == resource {
				return r.StorageVersionHash
			}
		}
		t.Fatalf("%s %s not in discovery", gv, resource)
		return ""
	}
	for _, tc := range []struct {
		gv, resource string
		want         string
	}{
		{"v1", "pods", upstreamdiscovery.StorageVersionHash("", "v1", "Pod")},
		{"apps/v1", "deployments", upstreamdiscovery.StorageVersionHash("apps", "v1", "Deployment")},
		{"events.k8s.io/v1", "events", upstreamdiscovery.StorageVersionHash("", "v1", "Event")},
		{"autoscaling/v2", "horizontalpodautoscalers", upstreamdiscovery.StorageVersionHash("autoscaling", "v2", "HorizontalPodAutoscaler")},
		{"stable.example.com/v1", "crontabs", upstreamdiscovery.StorageVersionHash("stable.example.com", "v1", "CronTab")},
		{"stable.example.com/v1beta1", "crontabs", upstreamdiscovery.StorageVersionHash("stable.example.com", "v1", "CronTab")},
		{"authorization.k8s.io/v1", "subjectaccessreviews", ""},
		{"authentication.k8s.io/v1", "tokenreviews", ""},
	} {
		if got := hashOf(tc.gv, tc.resource); got != tc.want {
			t.Errorf("%s %s: storageVersionHash %q, want %q", tc.gv, tc.resource, got, tc.want)
		}
	}

	// Every other top-level resource has one (in legacy discovery:
	// aggregated discovery has no such field).
	_, lists, err := dc.WithLegacy().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lists {
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || strings.HasSuffix(r.Name, "reviews") {
				continue
			}
			if r.StorageVersionHash == "" {
				t.Errorf("%s %s has no storageVersionHash", l.GroupVersion, r.Name)
			}
		}
	}
}
