package disruption_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const ns = "pdb"

func waitPDB(t *testing.T, s *clustertest.Server, name string, cond func(*policyv1.PodDisruptionBudget) bool) *policyv1.PodDisruptionBudget {
	t.Helper()
	var pdb *policyv1.PodDisruptionBudget
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		pdb, err = s.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && cond(pdb), err
	})
	if err != nil {
		t.Fatalf("pdb %s: %v; status %+v", name, err, pdb.Status)
	}
	return pdb
}

func evict(s *clustertest.Server, name string) error {
	return s.Client.PolicyV1().Evictions(ns).Evict(context.Background(), &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
}

// A budget's status follows its pods; the API server's eviction takes
// one disruption, refuses the next, and kubectl drain reports the
// budget; once the evicted pod is replaced, disruptions are allowed
// again. A percentage budget counts the StatefulSet's replicas.
func TestBudgetGuardsEvictions(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 1})
	node := nodes.Names()[0]
	s.RunControlPlane("scheduler")
	controllertest.StartManager(t, s.Config, "statefulset", "disruption")

	replicas := int32(3)
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, ServiceName: "web",
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
	if _, err := s.Client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("-n", ns, "rollout", "status", "sts/web", "--timeout=60s")
	s.MustKubectl("-n", ns, "create", "poddisruptionbudget", "web", "--selector=app=web", "--min-available=2")
	pdb := waitPDB(t, s, "web", func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.ObservedGeneration == p.Generation && p.Status.CurrentHealthy == 3
	})
	st := pdb.Status
	if st.ExpectedPods != 3 || st.DesiredHealthy != 2 || st.DisruptionsAllowed != 1 {
		t.Errorf("status %+v", st)
	}
	if c := apimeta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition); c == nil || c.Status != metav1.ConditionTrue || c.Reason != policyv1.SufficientPodsReason {
		t.Errorf("condition %+v", c)
	}

	// The node's kubelet stalls, so the evicted pod lingers terminating.
	if err := nodes.Kill(node); err != nil {
		t.Fatal(err)
	}
	if err := evict(s, "web-0"); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	err := evict(s, "web-1")
	if !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "disruption budget") {
		t.Errorf("second eviction: %v, want 429 naming the disruption budget", err)
	}
	waitPDB(t, s, "web", func(p *policyv1.PodDisruptionBudget) bool {
		c := apimeta.FindStatusCondition(p.Status.Conditions, policyv1.DisruptionAllowedCondition)
		return p.Status.CurrentHealthy == 2 && p.Status.DisruptionsAllowed == 0 && c != nil && c.Reason == policyv1.InsufficientPodsReason
	})
	_, err = s.Kubectl("drain", node, "--pod-selector=app=web", "--timeout=2s")
	if err == nil || !strings.Contains(err.Error(), "Cannot evict pod as it would violate the pod's disruption budget") {
		t.Errorf("kubectl drain: %v", err)
	}

	// The replacement becomes ready: one disruption is allowed again.
	s.MustKubectl("uncordon", node)
	if err := nodes.Revive(node); err != nil {
		t.Fatal(err)
	}
	waitPDB(t, s, "web", func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.CurrentHealthy == 3 && p.Status.DisruptionsAllowed == 1 && len(p.Status.DisruptedPods) == 0
	})

	// A percentage of maxUnavailable is taken of the StatefulSet's
	// replicas: 50% of 3 rounds up to 2.
	if err := s.Client.PolicyV1().PodDisruptionBudgets(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	half := intstr.FromString("50%")
	_, err = s.Client.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "half"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &half,
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitPDB(t, s, "half", func(p *policyv1.PodDisruptionBudget) bool {
		return p.Status.ExpectedPods == 3 && p.Status.DesiredHealthy == 1 && p.Status.DisruptionsAllowed == 2
	})
}
