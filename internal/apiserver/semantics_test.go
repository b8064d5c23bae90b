package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "web", Image: "nginx:1.27"},
					{Name: "sidecar", Image: "busybox"},
				}},
			},
		},
	}
}

func TestOptimisticConcurrency(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	cms := s.Client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := cm.DeepCopy()
	cm.Data["v"] = "2"
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	first.Data["v"] = "stale"
	_, err = cms.Update(ctx, first, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "the object has been modified") {
		t.Fatalf("stale update: %v", err)
	}
	got, _ := cms.Get(ctx, "c", metav1.GetOptions{})
	if got.Data["v"] != "2" {
		t.Fatalf("stale update changed the object: %v", got.Data)
	}
	// An update without resourceVersion is unconditional.
	first.ResourceVersion = ""
	if _, err := cms.Update(ctx, first, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("unconditional update: %v", err)
	}
	// Creating twice is AlreadyExists.
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: %v", err)
	}
	// Delete preconditions.
	err = cms.Delete(ctx, "c", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &cm.ResourceVersion}})
	if !apierrors.IsConflict(err) {
		t.Fatalf("delete with stale precondition: %v", err)
	}
}

func TestStrategicMergeOfContainersByName(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	deps := s.Client.AppsV1().Deployments("default")
	if _, err := deps.Create(ctx, deployment("web", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Patch one container by name; the other must stay.
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}`
	d, err := deps.Patch(ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 2 || cs[0].Image != "nginx:1.27" || cs[1].Image != "busybox:1.36" {
		t.Fatalf("containers after strategic merge: %+v", cs)
	}
	if d.Generation != 2 {
		t.Fatalf("generation %d after spec change, want 2", d.Generation)
	}
	// A merge patch replaces the list instead.
	merge := `{"spec":{"template":{"spec":{"containers":[{"name":"only","image":"alpine"}]}}}}`
	d, err = deps.Patch(ctx, "web", types.MergePatchType, []byte(merge), metav1.PatchOptions{})
	if err != nil || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("merge patch: %v %+v", err, d.Spec.Template.Spec.Containers)
	}
	// JSON patch, with a failing test operation.
	jp := `[{"op":"test","path":"/spec/replicas","value":7},{"op":"replace","path":"/spec/replicas","value":9}]`
	if _, err := deps.Patch(ctx, "web", types.JSONPatchType, []byte(jp), metav1.PatchOptions{}); err == nil || apierrors.ReasonForError(err) != metav1.StatusReasonInvalid {
		t.Fatalf("failing json patch test op: %v", err)
	}
	jp = `[{"op":"replace","path":"/spec/replicas","value":9}]`
	if d, err = deps.Patch(ctx, "web", types.JSONPatchType, []byte(jp), metav1.PatchOptions{}); err != nil || *d.Spec.Replicas != 9 {
		t.Fatalf("json patch: %v", err)
	}
	// Labels change: no generation bump.
	before := d.Generation
	d, err = deps.Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
	if err != nil || d.Generation != before {
		t.Fatalf("metadata-only patch bumped generation %d -> %d (%v)", before, d.Generation, err)
	}
}

func TestStatusAndScaleSubresources(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	deps := s.Client.AppsV1().Deployments("default")
	created, err := deps.Create(ctx, func() *appsv1.Deployment {
		d := deployment("web", 2)
		d.Status.Replicas = 99 // status is ignored on create
		return d
	}(), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status.Replicas != 0 {
		t.Fatalf("create kept status: %+v", created.Status)
	}
	// A status update ignores spec changes.
	d := created.DeepCopy()
	d.Status.Replicas, d.Status.ObservedGeneration = 2, 1
	d.Spec.Replicas = ptr.To[int32](50)
	d, err = deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.Replicas != 2 || *d.Spec.Replicas != 2 {
		t.Fatalf("status update: status %d spec %d", d.Status.Replicas, *d.Spec.Replicas)
	}
	// A main update ignores status changes.
	d.Status.Replicas = 7
	d.Spec.Replicas = ptr.To[int32](3)
	if d, err = deps.Update(ctx, d, metav1.UpdateOptions{}); err != nil || d.Status.Replicas != 2 || *d.Spec.Replicas != 3 {
		t.Fatalf("main update: %v %+v", err, d.Status)
	}
	// Scale.
	sc, err := deps.GetScale(ctx, "web", metav1.GetOptions{})
	if err != nil || sc.Spec.Replicas != 3 || sc.Status.Replicas != 2 {
		t.Fatalf("get scale: %v %+v", err, sc)
	}
	sc.Spec.Replicas = 6
	if sc, err = deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); err != nil || sc.Spec.Replicas != 6 {
		t.Fatalf("update scale: %v", err)
	}
	sc.Spec.Replicas = -1
	if _, err := deps.UpdateScale(ctx, "web", sc, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("negative scale: %v", err)
	}
	if d, _ := deps.Get(ctx, "web", metav1.GetOptions{}); *d.Spec.Replicas != 6 {
		t.Fatalf("replicas %d after scale", *d.Spec.Replicas)
	}
}

func TestListPagingSelectorsAndWatchResume(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	cms := s.Client.CoreV1().ConfigMaps("default")
	var lastRV string
	for i := 0; i < 25; i++ {
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("c%02d", i), Labels: map[string]string{"parity": fmt.Sprint(i % 2)},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if i == 9 {
			lastRV = cm.ResourceVersion
		}
	}
	var names []string
	opts := metav1.ListOptions{Limit: 10}
	for {
		page, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			names = append(names, it.Name)
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}
	if len(names) != 25 || names[0] != "c00" || names[24] != "c24" {
		t.Fatalf("paged list: %v", names)
	}
	odd, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "parity=1"})
	if err != nil || len(odd.Items) != 12 {
		t.Fatalf("label selector: %d items %v", len(odd.Items), err)
	}
	byName, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=c07"})
	if err != nil || len(byName.Items) != 1 {
		t.Fatalf("field selector: %v", err)
	}
	if _, err := cms.List(ctx, metav1.ListOptions{FieldSelector: "spec.nope=1"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("unsupported field selector: %v", err)
	}
	if _, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "a in (b"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("invalid label selector: %v", err)
	}

	// Resume a watch after the tenth create: the fifteen later ones arrive.
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: lastRV})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i := 10; i < 25; i++ {
		select {
		case ev := <-w.ResultChan():
			cm := ev.Object.(*corev1.ConfigMap)
			if ev.Type != watch.Added || cm.Name != fmt.Sprintf("c%02d", i) {
				t.Fatalf("event %d: %s %s", i, ev.Type, cm.Name)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event %d", i)
		}
	}
}

func TestProtobufClient(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	c := kubernetes.NewForConfigOrDie(s.ProtobufConfig())
	pods := c.CoreV1().Pods("default")
	w, err := pods.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	p, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "pb-"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Name, "pb-") || len(p.Name) != 8 || p.Status.Phase != corev1.PodPending {
		t.Fatalf("created %s phase %s", p.Name, p.Status.Phase)
	}
	select {
	case ev := <-w.ResultChan():
		if ev.Type != watch.Added || ev.Object.(*corev1.Pod).Name != p.Name {
			t.Fatalf("watch: %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event over protobuf")
	}
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("list: %v", err)
	}
}

func TestServerSideApplyConflicts(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	cms := s.Client.CoreV1().ConfigMaps("default")
	a := applycorev1.ConfigMap("shared", "default").WithData(map[string]string{"k": "a"})
	if _, err := cms.Apply(ctx, a, metav1.ApplyOptions{FieldManager: "alice"}); err != nil {
		t.Fatal(err)
	}
	b := applycorev1.ConfigMap("shared", "default").WithData(map[string]string{"k": "b"})
	_, err := cms.Apply(ctx, b, metav1.ApplyOptions{FieldManager: "bob"})
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("conflicting apply: %v", err)
	}
	cm, err := cms.Apply(ctx, b, metav1.ApplyOptions{FieldManager: "bob", Force: true})
	if err != nil || cm.Data["k"] != "b" {
		t.Fatalf("forced apply: %v", err)
	}
	managers := map[string]bool{}
	for _, m := range cm.ManagedFields {
		managers[m.Manager] = true
	}
	if !managers["bob"] {
		t.Fatalf("managed fields: %+v", cm.ManagedFields)
	}
}

func TestDryRunAndFinalizers(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	cms := s.Client.CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create stored the object: %v", err)
	}
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err = cms.Get(ctx, "held", metav1.GetOptions{})
	if err != nil || cm.DeletionTimestamp == nil {
		t.Fatalf("deleted object with a finalizer: %v %v", err, cm)
	}
	cm.Finalizers = nil
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(ctx, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("object stayed after its last finalizer went: %v", err)
	}
	// Foreground deletion adds its finalizer.
	if _, err := s.Client.AppsV1().Deployments("default").Create(ctx, deployment("fg", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Client.AppsV1().Deployments("default").Delete(ctx, "fg", metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Client.AppsV1().Deployments("default").Get(ctx, "fg", metav1.GetOptions{})
	if err != nil || d.DeletionTimestamp == nil || len(d.Finalizers) != 1 || d.Finalizers[0] != metav1.FinalizerDeleteDependents {
		t.Fatalf("foreground delete: %v %+v", err, d)
	}
}

func TestRestartKeepsObjectsAndWatchesResume(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	cms := s.Client.CoreV1().ConfigMaps("default")
	before, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Restart()
	cms = s.Client.CoreV1().ConfigMaps("default")
	got, err := cms.Get(ctx, "kept", metav1.GetOptions{})
	if err != nil || got.Data["a"] != "b" || got.UID != before.UID || got.ResourceVersion != before.ResourceVersion {
		t.Fatalf("after restart: %v %+v", err, got)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: before.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	after, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "new"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rvNum(after.ResourceVersion) <= rvNum(before.ResourceVersion) {
		t.Fatalf("resourceVersion went back: %s then %s", before.ResourceVersion, after.ResourceVersion)
	}
	select {
	case ev := <-w.ResultChan():
		if st, ok := ev.Object.(*metav1.Status); ok && ev.Type == watch.Error && st.Reason == metav1.StatusReasonExpired {
			// The server's own writes at start (bootstrap objects) can put
			// the old version before the watch cache's window; upstream
			// answers 410 then, and a client relists and watches on.
			relistAndWatch(t, cms, "newer")
			return
		}
		if cm, ok := ev.Object.(*corev1.ConfigMap); !ok || cm.Name != "new" {
			t.Fatalf("resumed watch got %s %v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("resumed watch got nothing")
	}
}

// relistAndWatch does what a reflector does after a 410: list, then
// watch from the list's version, and checks that a new object's ADDED
// arrives.
func relistAndWatch(t *testing.T, cms typedcorev1.ConfigMapInterface, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if cm, ok := ev.Object.(*corev1.ConfigMap); !ok || ev.Type != watch.Added || cm.Name != name {
			t.Fatalf("watch after relist got %s %v", ev.Type, ev.Object)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch after relist got nothing")
	}
}

func rvNum(rv string) int64 {
	var n int64
	_ = json.Unmarshal([]byte(rv), &n)
	return n
}

func TestManagedFieldsModes(t *testing.T) {
	ctx := context.Background()
	managers := func(cm *corev1.ConfigMap) string {
		var out []string
		for _, m := range cm.ManagedFields {
			out = append(out, m.Manager+"/"+string(m.Operation))
		}
		return strings.Join(out, ",")
	}
	t.Run("after-apply", func(t *testing.T) {
		s := clustertest.Start(t)
		cms := s.Client.CoreV1().ConfigMaps("default")
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{FieldManager: "creator"})
		if err != nil || len(cm.ManagedFields) != 0 {
			t.Fatalf("create: %v, managed %q", err, managers(cm))
		}
		// The first apply finds what exists owned by before-first-apply.
		_, err = cms.Apply(ctx, applycorev1.ConfigMap("c", "default").WithData(map[string]string{"a": "2"}), metav1.ApplyOptions{FieldManager: "applier"})
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "before-first-apply") {
			t.Fatalf("first apply: %v", err)
		}
		cm, err = cms.Apply(ctx, applycorev1.ConfigMap("c", "default").WithData(map[string]string{"a": "2"}), metav1.ApplyOptions{FieldManager: "applier", Force: true})
		if err != nil || !strings.Contains(managers(cm), "applier/Apply") {
			t.Fatalf("forced apply: %v, managed %q", err, managers(cm))
		}
		// From then on updates are tracked.
		cm.Data["b"] = "3"
		if cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "editor"}); err != nil || !strings.Contains(managers(cm), "editor/Update") {
			t.Fatalf("update after apply: %v, managed %q", err, managers(cm))
		}
	})
	t.Run("always", func(t *testing.T) {
		s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.ManagedFields = apiserver.ManagedFieldsAlways })
		cm, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{FieldManager: "creator"})
		if err != nil || managers(cm) != "creator/Update" {
			t.Fatalf("create: %v, managed %q", err, managers(cm))
		}
	})
}
