package cloud_test

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cloud"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

// TestInsideServer: the cloud controller manager `kemudi server` runs
// (supervised, as system:cloud-controller-manager, leader-elected)
// gives a LoadBalancer service the nodes' addresses.
func TestInsideServer(t *testing.T) {
	s := clustertest.Start(t)
	simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
	s.RunControlPlane("cloud-controller-manager")
	if _, err := s.Client.CoreV1().Services("default").Create(context.Background(), lbService("web", 80), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ips, _ := ingressOf(t, s.Client, "web"); !slices.Equal(ips, []string{"10.240.0.1", "10.240.0.2"}) {
		t.Errorf("ingress = %v, want the nodes' addresses", ips)
	}
	controllertest.WaitFor(t, "the cloud-controller-manager lease", 10*time.Second, func(ctx context.Context) (bool, error) {
		l, err := s.Client.CoordinationV1().Leases("kube-system").Get(ctx, cloud.LeaseName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "", nil
	})
}
