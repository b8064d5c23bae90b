package manager_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

// TestControllersActAsTheirServiceAccounts: with RBAC in force the
// manager's own identity may not create replica sets; the deployment
// controller does, as kube-system/deployment-controller, whose account
// the manager created. Without service-account credentials it cannot.
func TestControllersActAsTheirServiceAccounts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		useSA     bool
		wantOwned bool
	}{
		{"own credentials", true, true},
		{"manager's credentials", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := clustertest.Start(t)
			ctx := context.Background()
			// The manager's identity is refused what the controller needs.
			sar, err := s.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: "system:kube-controller-manager", ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "default", Verb: "create", Group: "apps", Resource: "replicasets"},
			}}, metav1.CreateOptions{})
			if err != nil || sar.Status.Allowed {
				t.Fatalf("the manager itself may create replica sets: %+v %v", sar, err)
			}
			s.RunControllerManager(func(o *manager.Options) {
				o.Controllers = []string{"deployment"}
				o.LeaderElect = false
				o.UseServiceAccountCredentials = tc.useSA
			})
			labels := map[string]string{"app": "web"}
			if _, err := s.Client.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "web"},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](1),
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
					},
				},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			// Long enough for the controller to have acted when it can.
			deadline := time.Now().Add(10 * time.Second)
			created := false
			for time.Now().Before(deadline) && !created {
				rss, err := s.Client.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				created = len(rss.Items) > 0
				time.Sleep(50 * time.Millisecond)
			}
			if created != tc.wantOwned {
				t.Fatalf("replica set created: %v, want %v", created, tc.wantOwned)
			}
			_, err = s.Client.CoreV1().ServiceAccounts("kube-system").Get(ctx, "deployment-controller", metav1.GetOptions{})
			if (err == nil) != tc.useSA {
				t.Errorf("service account deployment-controller: %v", err)
			}
		})
	}
}
