package garbagecollector_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
)

const ns = "default"

func startCluster(t *testing.T) *clustertest.Server {
	t.Helper()
	s := clustertest.Start(t)
	s.RunControlPlane("controller-manager")
	controllertest.StartKubelet(t, s.Client, ns, "node-1")
	return s
}

func count(t *testing.T, s *clustertest.Server, selector string) (sets, pods int) {
	t.Helper()
	ctx := context.Background()
	rs, err := s.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	return len(rs.Items), len(p.Items)
}

func deployed(t *testing.T, s *clustertest.Server, name string, replicas int) {
	t.Helper()
	s.MustKubectl("create", "deployment", name, "--image=nginx", "--replicas="+string(rune('0'+replicas)))
	s.MustKubectl("rollout", "status", "deploy/"+name, "--timeout=60s")
}

// kubectl delete deploy: its ReplicaSets and pods go too (background).
func TestCascadeBackground(t *testing.T) {
	s := startCluster(t)
	deployed(t, s, "web", 3)
	if rs, pods := count(t, s, "app=web"); rs != 1 || pods != 3 {
		t.Fatalf("%d sets, %d pods before delete", rs, pods)
	}
	s.MustKubectl("delete", "deploy", "web")
	controllertest.WaitFor(t, "sets and pods gone", 30*time.Second, func(context.Context) (bool, error) {
		rs, pods := count(t, s, "app=web")
		return rs == 0 && pods == 0, nil
	})
}

// --cascade=foreground: the Deployment stays, with the foregroundDeletion
// finalizer, until its set and pods are gone.
func TestCascadeForeground(t *testing.T) {
	s := startCluster(t)
	deployed(t, s, "web", 2)
	ctx := context.Background()
	pods, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("pods %v %v", err, pods)
	}
	// Hold one pod with a finalizer of our own: the Deployment must wait
	// for it.
	held := pods.Items[0].Name
	if _, err := s.Client.CoreV1().Pods(ns).Patch(ctx, held, "application/merge-patch+json",
		[]byte(`{"metadata":{"finalizers":["example.com/hold"]}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	out := s.MustKubectl("delete", "deploy", "web", "--cascade=foreground", "--wait=false")
	if !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %q", out)
	}
	controllertest.WaitFor(t, "everything but the held pod gone", 30*time.Second, func(ctx context.Context) (bool, error) {
		p, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		return err == nil && len(p.Items) == 1 && p.Items[0].Name == held, err
	})
	d, err := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || d.DeletionTimestamp == nil || !hasFinalizer(d.Finalizers, metav1.FinalizerDeleteDependents) {
		t.Fatalf("deployment while a dependent remains: %v %+v", err, d)
	}
	rs, err := s.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(rs.Items) != 1 || !hasFinalizer(rs.Items[0].Finalizers, metav1.FinalizerDeleteDependents) {
		t.Fatalf("replica set while a dependent remains: %v %+v", err, rs)
	}
	if _, err := s.Client.CoreV1().Pods(ns).Patch(ctx, held, "application/merge-patch+json",
		[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "deployment gone", 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if rs, pods := count(t, s, "app=web"); rs != 0 || pods != 0 {
		t.Fatalf("%d sets, %d pods after foreground delete", rs, pods)
	}
}

// --cascade=orphan: the set goes, its pods stay, without a reference to it.
func TestCascadeOrphan(t *testing.T) {
	s := startCluster(t)
	deployed(t, s, "web", 2)
	ctx := context.Background()
	s.MustKubectl("delete", "deploy", "web", "--cascade=orphan")
	controllertest.WaitFor(t, "deployment gone", 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := s.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	sets, err := s.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(sets.Items) != 1 || len(sets.Items[0].OwnerReferences) != 0 {
		t.Fatalf("orphaned set: %v %+v", err, sets)
	}
	s.MustKubectl("delete", "rs", sets.Items[0].Name, "--cascade=orphan")
	controllertest.WaitFor(t, "set gone, pods orphaned", 30*time.Second, func(ctx context.Context) (bool, error) {
		rs, err := s.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(rs.Items) != 0 {
			return false, err
		}
		p, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(p.Items) != 2 {
			return false, err
		}
		for _, pod := range p.Items {
			if len(pod.OwnerReferences) != 0 || pod.DeletionTimestamp != nil {
				return false, nil
			}
		}
		return true, nil
	})
}

// An object whose owner never existed (or is gone before the collector
// saw it) is collected; one with another live owner only loses the dead
// reference.
func TestDanglingOwners(t *testing.T) {
	s := startCluster(t)
	ctx := context.Background()
	live, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "live"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ghost := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "ghost", UID: "00000000-0000-0000-0000-000000000001"}
	liveRef := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "live", UID: live.UID}
	for name, owners := range map[string][]metav1.OwnerReference{
		"orphan": {ghost},
		"shared": {ghost, liveRef},
	} {
		if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: owners}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	controllertest.WaitFor(t, "orphan collected, shared trimmed", 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, "orphan", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, nil
		}
		cm, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, "shared", metav1.GetOptions{})
		return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == live.UID, nil
	})
	// Deleting the live owner collects the shared object.
	if err := s.Client.CoreV1().ConfigMaps(ns).Delete(ctx, "live", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "shared collected", 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, "shared", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func hasFinalizer(fs []string, f string) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

var _ = appsv1.SchemeGroupVersion

// A custom resource deleted with orphan propagation: its dependents lose
// the reference to it and stay (one keeps its other owner), and it goes.
// Custom resources take no strategic merge patch, so the collector
// patches their references with a JSON merge patch.
func TestCascadeOrphanCustomResources(t *testing.T) {
	s := startCluster(t)
	ctx := context.Background()
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object}}
`
	if out, err := s.KubectlStdin(strings.NewReader(crd), "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the CRD: %v\n%s", err, out)
	}
	s.MustKubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=60s")
	widgets := dynamic.NewForConfigOrDie(s.Config).Resource(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"})
	create := func(name string, owners ...*unstructured.Unstructured) *unstructured.Unstructured {
		t.Helper()
		w := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": name}}}
		var refs []metav1.OwnerReference
		for _, o := range owners {
			refs = append(refs, metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Widget", Name: o.GetName(), UID: o.GetUID()})
		}
		w.SetOwnerReferences(refs)
		out, err := widgets.Create(ctx, w, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create widget %s: %v", name, err)
		}
		return out
	}
	owner, other := create("owner"), create("other")
	create("dependent", owner)
	create("shared", owner, other)
	orphan := metav1.DeletePropagationOrphan
	if err := widgets.Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: &orphan}); err != nil {
		t.Fatal(err)
	}
	// The collector watches a new resource after its next look at
	// discovery (every 30 s).
	controllertest.WaitFor(t, "owner gone, its dependents orphaned", 90*time.Second, func(ctx context.Context) (bool, error) {
		if _, err := widgets.Get(ctx, "owner", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, nil
		}
		return true, nil
	})
	for name, want := range map[string][]types.UID{"dependent": nil, "shared": {other.GetUID()}} {
		w, err := widgets.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s after its owner was deleted with orphan propagation: %v", name, err)
		}
		var got []types.UID
		for _, r := range w.GetOwnerReferences() {
			got = append(got, r.UID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s's owners %v, want %v", name, got, want)
		}
	}
}
