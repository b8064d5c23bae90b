package apiserver_test

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestDiscoverySubresources: discovery names the subresources kubectl
// looks for before using them, with upstream's verbs (kubectl debug
// asks for pods/ephemeralcontainers, kubectl certificate approve for
// certificatesigningrequests/approval).
func TestDiscoverySubresources(t *testing.T) {
	s := clustertest.Start(t)
	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gv, name string
		verbs    []string
	}{
		{"v1", "pods/status", []string{"get", "patch", "update"}},
		{"v1", "pods/ephemeralcontainers", []string{"get", "patch", "update"}},
		{"v1", "pods/resize", []string{"get", "patch", "update"}},
		{"v1", "pods/eviction", []string{"create"}},
		{"certificates.k8s.io/v1", "certificatesigningrequests/approval", []string{"get", "patch", "update"}},
		{"certificates.k8s.io/v1", "certificatesigningrequests/status", []string{"get", "patch", "update"}},
	} {
		list, err := dc.ServerResourcesForGroupVersion(tc.gv)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == tc.name })
		if i < 0 {
			t.Errorf("%s: %s not in discovery", tc.gv, tc.name)
			continue
		}
		if got := list.APIResources[i].Verbs; strings.Join(got, ",") != strings.Join(tc.verbs, ",") {
			t.Errorf("%s verbs %v, want %v", tc.name, got, tc.verbs)
		}
	}
}
