package namespace_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
)

func condition(ns *corev1.Namespace, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range ns.Status.Conditions {
		if ns.Status.Conditions[i].Type == t {
			return &ns.Status.Conditions[i]
		}
	}
	return nil
}

// kubectl delete ns team-a: everything in it goes, then the namespace;
// while content held by a finalizer remains, the conditions say so.
func TestDeleteNamespace(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControlPlane("controller-manager")
	ctx := context.Background()
	s.MustKubectl("create", "namespace", "team-a")
	controllertest.StartKubelet(t, s.Client, "team-a", "node-1")
	s.MustKubectl("-n", "team-a", "create", "deployment", "web", "--image=nginx", "--replicas=2")
	s.MustKubectl("-n", "team-a", "rollout", "status", "deploy/web", "--timeout=60s")
	s.MustKubectl("-n", "team-a", "create", "configmap", "settings", "--from-literal=a=b")
	s.MustKubectl("-n", "team-a", "create", "service", "clusterip", "web", "--tcp=80:80")
	s.MustKubectl("-n", "team-a", "create", "secret", "generic", "token", "--from-literal=t=x")
	if _, err := s.Client.CoreV1().ConfigMaps("team-a").Patch(ctx, "settings", "application/merge-patch+json",
		[]byte(`{"metadata":{"finalizers":["example.com/hold"]}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	out := s.MustKubectl("delete", "ns", "team-a", "--wait=false")
	if !strings.Contains(out, `namespace "team-a" deleted`) {
		t.Fatalf("delete: %q", out)
	}
	// New content is refused while the namespace terminates.
	_, err := s.Client.CoreV1().ConfigMaps("team-a").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		t.Fatalf("create in a terminating namespace: %v", err)
	}
	controllertest.WaitFor(t, "the held config map to be all that remains", 60*time.Second, func(ctx context.Context) (bool, error) {
		ns, err := s.Client.CoreV1().Namespaces().Get(ctx, "team-a", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := condition(ns, corev1.NamespaceFinalizersRemaining)
		r := condition(ns, corev1.NamespaceContentRemaining)
		return c != nil && c.Status == corev1.ConditionTrue && c.Reason == "SomeFinalizersRemain" &&
			c.Message == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances" &&
			r != nil && r.Message == "Some resources are remaining: configmaps. has 1 resource instances", nil
	})
	for _, check := range []struct {
		what string
		n    func() (int, error)
	}{
		{"pods", func() (int, error) {
			l, err := s.Client.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		}},
		{"deployments", func() (int, error) {
			l, err := s.Client.AppsV1().Deployments("team-a").List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		}},
		{"services", func() (int, error) {
			l, err := s.Client.CoreV1().Services("team-a").List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		}},
		{"secrets", func() (int, error) {
			l, err := s.Client.CoreV1().Secrets("team-a").List(ctx, metav1.ListOptions{})
			return len(l.Items), err
		}},
	} {
		if n, err := check.n(); err != nil || n != 0 {
			t.Errorf("%s left in the terminating namespace: %d %v", check.what, n, err)
		}
	}
	if out := s.MustKubectl("get", "ns", "team-a"); !strings.Contains(out, "Terminating") {
		t.Errorf("get ns: %q", out)
	}

	if _, err := s.Client.CoreV1().ConfigMaps("team-a").Patch(ctx, "settings", "application/merge-patch+json",
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "namespace gone", 60*time.Second, func(ctx context.Context) (bool, error) {
		_, err := s.Client.CoreV1().Namespaces().Get(ctx, "team-a", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}
