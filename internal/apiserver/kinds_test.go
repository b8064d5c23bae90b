package apiserver_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

func TestServiceAllocation(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	svcs := s.Client.CoreV1().Services("default")
	k, err := svcs.Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || k.Spec.ClusterIP != "10.43.0.1" {
		t.Fatalf("kubernetes service: %v %+v", err, k)
	}
	lb, err := svcs.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt(5000), NodePort: 30175}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := netip.ParseAddr(lb.Spec.ClusterIP)
	if err != nil || !netip.MustParsePrefix("10.43.0.0/16").Contains(ip) || lb.Spec.Ports[0].NodePort != 30175 {
		t.Fatalf("allocated %q port %d", lb.Spec.ClusterIP, lb.Spec.Ports[0].NodePort)
	}
	out := s.MustKubectl("get", "svc", "web")
	if r := rows(out)["web"]; len(r) < 5 || r[1] != "LoadBalancer" || r[3] != "<pending>" || r[4] != "80:30175/TCP" {
		t.Fatalf("kubectl get svc: %q", out)
	}
	// The same node port twice is refused, naming the field.
	_, err = svcs.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "clash"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30175}}},
	}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.ports[0].nodePort") || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Fatalf("duplicate node port: %v", err)
	}
	// Deleting a service frees its port and address.
	if err := svcs.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := svcs.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "again"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: lb.Spec.ClusterIP,
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30175}}},
	}, metav1.CreateOptions{})
	if err != nil || again.Spec.ClusterIP != lb.Spec.ClusterIP {
		t.Fatalf("reuse after delete: %v", err)
	}
	// A dry run allocates nothing for good.
	if _, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dry"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30200}}}},
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svcs.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "real"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: 30200}}}},
		metav1.CreateOptions{}); err != nil {
		t.Fatalf("port held by a dry run: %v", err)
	}
}

func TestEvictionHonoursDisruptionBudget(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	pods := s.Client.CoreV1().Pods("default")
	p, err := pods.Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "guarded", Labels: map[string]string{"app": "db"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pdbs := s.Client.PolicyV1().PodDisruptionBudgets("default")
	pdb, err := pdbs.Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1}
	if pdb, err = pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	evict := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "guarded", Namespace: "default"}}
	err = pods.EvictV1(ctx, evict)
	if !apierrors.IsTooManyRequests(err) || !strings.Contains(err.Error(), "would violate the pod's disruption budget") {
		t.Fatalf("eviction against a full budget: %v", err)
	}
	if _, err := pods.Get(ctx, "guarded", metav1.GetOptions{}); err != nil {
		t.Fatalf("refused eviction removed the pod: %v", err)
	}
	pdb.Status.DisruptionsAllowed = 1
	if _, err := pdbs.UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.EvictV1(ctx, evict); err != nil {
		t.Fatalf("allowed eviction: %v", err)
	}
	if _, err := pods.Get(ctx, "guarded", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("evicted pod still there: %v", err)
	}
	after, _ := pdbs.Get(ctx, "db", metav1.GetOptions{})
	if _, recorded := after.Status.DisruptedPods["guarded"]; after.Status.DisruptionsAllowed != 0 || !recorded {
		t.Fatalf("budget after eviction: %+v", after.Status)
	}
}

func TestKindSpecificSemantics(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()

	t.Run("node status kept on create", func(t *testing.T) {
		n, err := s.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n1"},
			Status: corev1.NodeStatus{
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
				NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.37.2"},
			},
		}, metav1.CreateOptions{})
		if err != nil || len(n.Status.Conditions) != 1 {
			t.Fatalf("node: %v %+v", err, n.Status)
		}
		if r := rows(s.MustKubectl("get", "nodes"))["n1"]; len(r) < 5 || r[1] != "Ready" || r[4] != "v1.37.2" {
			t.Fatalf("kubectl get nodes row %v", r)
		}
	})
	t.Run("lease needs a resourceVersion to update", func(t *testing.T) {
		l, err := s.Client.CoordinationV1().Leases("default").Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l.ResourceVersion = ""
		if _, err := s.Client.CoordinationV1().Leases("default").Update(ctx, l, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "metadata.resourceVersion") {
			t.Fatalf("unconditional lease update: %v", err)
		}
	})
	t.Run("system namespaces and priority classes cannot be deleted", func(t *testing.T) {
		for _, ns := range []string{"default", "kube-system", "kube-public"} {
			if err := s.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("delete namespace %s: %v", ns, err)
			}
		}
		if err := s.Client.SchedulingV1().PriorityClasses().Delete(ctx, "system-node-critical", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("delete system priority class: %v", err)
		}
		if _, err := s.Client.RbacV1().ClusterRoles().Get(ctx, "cluster-admin", metav1.GetOptions{}); err != nil {
			t.Errorf("bootstrap cluster-admin role: %v", err)
		}
	})
	t.Run("jobs and replication controllers orphan their pods by default", func(t *testing.T) {
		// Upstream's legacy defaults: batch/v1 jobs and core/v1
		// replication controllers orphan on a delete without a policy;
		// apps/v1 kinds delete their dependents (no finalizer here,
		// where no garbage collector runs: gone at once).
		tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "o"}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j"}, Spec: batchv1.JobSpec{Template: tmpl}}
		if _, err := s.Client.BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rcTmpl := tmpl.DeepCopy()
		rcTmpl.Spec.RestartPolicy = corev1.RestartPolicyAlways
		rc := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc"}, Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To[int32](0), Selector: map[string]string{"app": "o"}, Template: rcTmpl}}
		if _, err := s.Client.CoreV1().ReplicationControllers("default").Create(ctx, rc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs"}, Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "o"}}, Template: *rcTmpl}}
		if _, err := s.Client.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			delete func() error
			get    func() (metav1.Object, error)
			orphan bool
		}{
			{"job", func() error { return s.Client.BatchV1().Jobs("default").Delete(ctx, "j", metav1.DeleteOptions{}) },
				func() (metav1.Object, error) {
					return s.Client.BatchV1().Jobs("default").Get(ctx, "j", metav1.GetOptions{})
				}, true},
			{"replication controller", func() error {
				return s.Client.CoreV1().ReplicationControllers("default").Delete(ctx, "rc", metav1.DeleteOptions{})
			}, func() (metav1.Object, error) {
				return s.Client.CoreV1().ReplicationControllers("default").Get(ctx, "rc", metav1.GetOptions{})
			}, true},
			{"replica set", func() error {
				return s.Client.AppsV1().ReplicaSets("default").Delete(ctx, "rs", metav1.DeleteOptions{})
			},
				func() (metav1.Object, error) {
					return s.Client.AppsV1().ReplicaSets("default").Get(ctx, "rs", metav1.GetOptions{})
				}, false},
		} {
			if err := tc.delete(); err != nil {
				t.Fatalf("delete %s: %v", tc.name, err)
			}
			o, err := tc.get()
			var finalizers []string
			if err == nil {
				finalizers = o.GetFinalizers()
			}
			switch {
			case tc.orphan && (err != nil || !slices.Equal(finalizers, []string{metav1.FinalizerOrphanDependents})):
				t.Errorf("%s after a delete without a policy: %v, finalizers %v; want it kept with the orphan finalizer", tc.name, err, finalizers)
			case !tc.orphan && !apierrors.IsNotFound(err):
				t.Errorf("%s after a delete without a policy: %v; want it gone", tc.name, err)
			}
		}
	})
	t.Run("stateful set claim templates carry their kind", func(t *testing.T) {
		labels := map[string]string{"app": "db"}
		ss := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "postgres"}}}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resourceMustParse("1Gi")}}}}},
		}}
		if _, err := s.Client.AppsV1().StatefulSets("default").Create(ctx, ss, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// (client-go's typed decoding drops nested apiVersion and kind;
		// kubectl shows what the server sent.)
		out := s.MustKubectl("get", "sts", "db", "-o", "jsonpath={.spec.volumeClaimTemplates[0].apiVersion} {.spec.volumeClaimTemplates[0].kind}")
		if out != "v1 PersistentVolumeClaim" {
			t.Fatalf("claim template type %q", out)
		}
	})
	t.Run("endpoints warn that they are deprecated", func(t *testing.T) {
		var warnings []string
		cfg := rest.CopyConfig(s.Config)
		cfg.WarningHandler = warningCollector(func(msg string) { warnings = append(warnings, msg) })
		c := clientFor(t, cfg)
		if _, err := c.CoreV1().Endpoints("default").List(ctx, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "v1 Endpoints is deprecated") {
			t.Fatalf("warnings %q", warnings)
		}
	})
}
