package pod

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func ptr[T any](v T) *T { return &v }

// newPod is `kubectl run web --image=flask-app:v1` with a little more, as
// the server sees it after defaulting and PrepareForCreate.
func newPod() *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1", ResourceVersion: "5",
			Labels: map[string]string{"run": "web"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "web", Image: "flask-app:v1",
				Ports: []corev1.ContainerPort{{ContainerPort: 5000}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
			}},
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))}},
		},
	}
	Default(p)
	PrepareForCreate(p)
	return p
}

type wantErr struct {
	typ  field.ErrorType
	path string
}

func assertErrors(t *testing.T, errs field.ErrorList, want ...wantErr) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if errs[i].Type != w.typ || errs[i].Field != w.path {
			t.Errorf("error %d = %s at %s, want %s at %s", i, errs[i].Type, errs[i].Field, w.typ, w.path)
		}
	}
}

func TestDefaultAndPrepare(t *testing.T) {
	p := newPod()
	c := p.Spec.Containers[0]
	if c.Resources.Requests.Cpu().String() != "500m" || c.Resources.Requests.Memory().String() != "128Mi" {
		t.Errorf("requests not defaulted from limits: %v", c.Resources.Requests)
	}
	if p.Spec.EnableServiceLinks == nil || !*p.Spec.EnableServiceLinks {
		t.Errorf("enableServiceLinks not defaulted")
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent || p.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("spec defaults missing: pull %q restart %q", c.ImagePullPolicy, p.Spec.RestartPolicy)
	}
	if p.Status.Phase != corev1.PodPending || p.Status.QOSClass != corev1.PodQOSGuaranteed || len(p.Status.Conditions) != 0 {
		t.Errorf("status after create = %+v", p.Status)
	}
	if errs := Validate(p); len(errs) != 0 {
		t.Fatalf("valid pod rejected: %v", errs)
	}
}

func TestPrepareForCreateClearsStatusAndGates(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "db", "tier": "x"}},
		Spec: corev1.PodSpec{
			Containers:      []corev1.Container{{Name: "c", Image: "i"}},
			SchedulingGates: []corev1.PodSchedulingGate{{Name: "example.com/wait"}},
			Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "x"}},
				MatchLabelKeys: []string{"app"},
				TopologyKey:    "kubernetes.io/hostname",
			}}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.42.0.5", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	Default(p)
	PrepareForCreate(p)
	if p.Status.Phase != corev1.PodPending || p.Status.PodIP != "" || p.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status = %+v", p.Status)
	}
	if len(p.Status.Conditions) != 1 || p.Status.Conditions[0].Reason != "SchedulingGated" || p.Status.Conditions[0].Status != corev1.ConditionFalse {
		t.Errorf("gated condition = %+v", p.Status.Conditions)
	}
	exprs := p.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchExpressions
	if len(exprs) != 1 || exprs[0].Key != "app" || exprs[0].Operator != metav1.LabelSelectorOpIn || exprs[0].Values[0] != "db" {
		t.Errorf("matchLabelKeys not merged: %+v", exprs)
	}
	if errs := Validate(p); len(errs) != 0 {
		t.Errorf("gated pod rejected: %v", errs)
	}
	if _, status, _ := Summary(p); status != "SchedulingGated" {
		t.Errorf("STATUS = %q, want SchedulingGated", status)
	}
}

func TestQOS(t *testing.T) {
	res := func(req, lim string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{}
		if req != "" {
			r.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(req), corev1.ResourceMemory: resource.MustParse(req + "i")}
		}
		if lim != "" {
			r.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(lim), corev1.ResourceMemory: resource.MustParse(lim + "i")}
		}
		return r
	}
	cases := []struct {
		name string
		res  []corev1.ResourceRequirements
		want corev1.PodQOSClass
	}{
		{"nothing", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"equal", []corev1.ResourceRequirements{res("1M", "1M")}, corev1.PodQOSGuaranteed},
		{"request below limit", []corev1.ResourceRequirements{res("1M", "2M")}, corev1.PodQOSBurstable},
		{"requests only", []corev1.ResourceRequirements{res("1M", "")}, corev1.PodQOSBurstable},
		{"guaranteed and best effort", []corev1.ResourceRequirements{res("1M", "1M"), {}}, corev1.PodQOSBurstable},
		{"cpu only", []corev1.ResourceRequirements{{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}, corev1.PodQOSBurstable},
	}
	for _, tc := range cases {
		p := &corev1.Pod{}
		for _, r := range tc.res {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Resources: r})
		}
		if got := QOSClass(p); got != tc.want {
			t.Errorf("%s: QOS %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestValidateCreate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []wantErr
	}{
		{"ephemeral containers on create", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
				Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.ephemeralContainers"}}},
		{"nodeName with gates", func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "g"}}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.nodeName"}}},
		{"token without service account", func(p *corev1.Pod) {
			p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "", "" //nolint:staticcheck
			p.Spec.Volumes = []corev1.Volume{{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t", ExpirationSeconds: ptr(int64(3600))}}}}}}}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.volumes[0].projected.sources[0].serviceAccountToken"}}},
		{"image with trailing space", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx " },
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].image"}}},
		{"hostNetwork hostPort mismatch", func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 8080
		}, []wantErr{{field.ErrorTypeInvalid, "spec.containers[0].ports[0].hostPort"}}},
		{"bad deletion cost", func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.PodDeletionCost: "abc"}
		}, []wantErr{{field.ErrorTypeInvalid, "metadata.annotations[controller.kubernetes.io/pod-deletion-cost]"}}},
		{"seccomp annotation disagrees with field", func(p *corev1.Pod) {
			p.Annotations = map[string]string{corev1.SeccompPodAnnotationKey: "unconfined"}
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.securityContext.seccompProfile.type"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod()
			tc.mutate(p)
			assertErrors(t, Validate(p), tc.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []wantErr
	}{
		{"new image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "flask-app:v2" }, nil},
		{"labels and annotations", func(p *corev1.Pod) { p.Labels["x"] = "y" }, nil},
		{"set activeDeadlineSeconds", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr(int64(60)) }, nil},
		{"add a toleration", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}, nil},
		{"change tolerationSeconds", func(p *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr(int64(10)) }, nil},
		{"change a resource", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("2")
		}, []wantErr{{field.ErrorTypeForbidden, "spec"}}},
		{"change the restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]wantErr{{field.ErrorTypeForbidden, "spec"}}},
		{"add a container", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "b", ImagePullPolicy: corev1.PullAlways, TerminationMessagePolicy: corev1.TerminationMessageReadFile})
		}, []wantErr{{field.ErrorTypeForbidden, "spec.containers"}}},
		{"remove a toleration", func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			[]wantErr{{field.ErrorTypeForbidden, "spec.tolerations"}}},
		{"clear the image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			[]wantErr{{field.ErrorTypeRequired, "spec.containers[0].image"}, {field.ErrorTypeRequired, "spec.containers[0].image"}}},
		{"add a mirror annotation", func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
		}, []wantErr{{field.ErrorTypeInvalid, "metadata.annotations[kubernetes.io/config.mirror]"}, {field.ErrorTypeForbidden, "metadata.annotations[kubernetes.io/config.mirror]"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := newPod()
			p := old.DeepCopy()
			tc.mutate(p)
			errs := ValidateUpdate(p, old)
			assertErrors(t, errs, tc.want...)
			for _, e := range errs {
				if e.Field == "spec" && !strings.HasPrefix(e.Detail, "pod updates may not change fields other than `spec.containers[*].image`,") {
					t.Errorf("Forbidden message = %q", e.Detail)
				}
			}
		})
	}
}

func TestValidateUpdateDeadlinesAndGates(t *testing.T) {
	old := newPod()
	old.Spec.ActiveDeadlineSeconds = ptr(int64(60))
	old.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "a"}, {Name: "b"}}
	old.Spec.NodeSelector = map[string]string{"disk": "ssd"}

	p := old.DeepCopy()
	p.Spec.ActiveDeadlineSeconds = ptr(int64(120))
	assertErrors(t, ValidateUpdate(p, old), wantErr{field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"})

	p = old.DeepCopy()
	p.Spec.ActiveDeadlineSeconds = nil
	assertErrors(t, ValidateUpdate(p, old), wantErr{field.ErrorTypeInvalid, "spec.activeDeadlineSeconds"})

	p = old.DeepCopy()
	p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "b"}}
	p.Spec.NodeSelector["zone"] = "a"
	assertErrors(t, ValidateUpdate(p, old))

	p = old.DeepCopy()
	p.Spec.SchedulingGates = append(p.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: "c"})
	assertErrors(t, ValidateUpdate(p, old), wantErr{field.ErrorTypeForbidden, "spec.schedulingGates[2].name"})

	p = old.DeepCopy()
	p.Spec.NodeSelector["disk"] = "hdd"
	assertErrors(t, ValidateUpdate(p, old), wantErr{field.ErrorTypeInvalid, "spec.nodeSelector"})
}

func TestStatusUpdate(t *testing.T) {
	old := newPod()
	old.Spec.NodeName = "node-1"
	old.Spec.RestartPolicy = corev1.RestartPolicyNever
	old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}

	ok := old.DeepCopy()
	ok.Status.Phase = corev1.PodFailed
	ok.Status.PodIP = "10.42.0.7"
	Default(ok)
	ok.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}, {Type: "example.com/ready", Status: corev1.ConditionTrue}}
	if len(ok.Status.PodIPs) != 1 || ok.Status.PodIPs[0].IP != "10.42.0.7" {
		t.Errorf("podIPs not defaulted from podIP: %v", ok.Status.PodIPs)
	}
	assertErrors(t, ValidateStatusUpdate(ok, old))

	bad := old.DeepCopy()
	bad.Status.QOSClass = corev1.PodQOSBestEffort
	bad.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	bad.Status.Conditions = []corev1.PodCondition{{Type: "bad type!", Status: corev1.ConditionTrue}}
	bad.Status.PodIP, bad.Status.PodIPs = "10.0.0.1", []corev1.PodIP{{IP: "10.0.0.2"}}
	bad.Status.NominatedNodeName = "Node_1"
	assertErrors(t, ValidateStatusUpdate(bad, old),
		wantErr{field.ErrorTypeInvalid, "status.conditions[0].Type"},
		wantErr{field.ErrorTypeInvalid, "status.nominatedNodeName"},
		wantErr{field.ErrorTypeInvalid, "status.qosClass"},
		wantErr{field.ErrorTypeForbidden, "status.containerStatuses[0].state"},
		wantErr{field.ErrorTypeInvalid, "status.podIPs[0].ip"},
	)

	// OnFailure lets a failed container run again.
	old.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	bad = old.DeepCopy()
	bad.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	assertErrors(t, ValidateStatusUpdate(bad, old))
}

func TestPrepareForStatusUpdate(t *testing.T) {
	old := newPod()
	old.OwnerReferences = []metav1.OwnerReference{{Name: "rs", UID: "1", Kind: "ReplicaSet", APIVersion: "apps/v1"}}
	old.Status.ObservedGeneration = 3
	old.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, ObservedGeneration: 3}}
	p := old.DeepCopy()
	p.OwnerReferences = nil
	p.Status.QOSClass = ""
	p.Status.ObservedGeneration = 0
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	PrepareForStatusUpdate(p, old)
	if len(p.OwnerReferences) != 1 || p.Status.QOSClass != old.Status.QOSClass || p.Status.ObservedGeneration != 3 || p.Status.Conditions[0].ObservedGeneration != 3 {
		t.Errorf("status update did not keep protected fields: %+v %+v", p.OwnerReferences, p.Status)
	}
}

func TestTableRows(t *testing.T) {
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(time.Now().Add(-d)) }
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	cases := []struct {
		name      string
		pod       func(p *corev1.Pod)
		wantCells []interface{}
	}{
		{"pending", func(p *corev1.Pod) {}, []interface{}{"web", "0/1", "Pending", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"running", func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.42.0.5"}},
				Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, State: running}}}
		}, []interface{}{"web", "1/1", "Running", "0", "10m", "10.42.0.5", "node-1", "<none>", "<none>"}},
		{"crash loop", func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", RestartCount: 3,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(5 * time.Minute)}},
			}}}
		}, []interface{}{"web", "0/1", "CrashLoopBackOff", "3 (5m ago)", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"init", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "a"}, {Name: "b"}}
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}},
				{Name: "b", State: running},
			}}
		}, []interface{}{"web", "0/1", "Init:1/2", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"init failed", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "a"}}
			p.Status = corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}},
			}}
		}, []interface{}{"web", "0/1", "Init:ExitCode:2", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"sidecar", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}}
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning,
				Conditions:            []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "proxy", Ready: true, Started: ptr(true), State: running, RestartCount: 1}},
				ContainerStatuses:     []corev1.ContainerStatus{{Name: "web", Ready: true, State: running}}}
		}, []interface{}{"web", "2/2", "Running", "1", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"completed", func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}}
		}, []interface{}{"web", "0/1", "Completed", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"terminating", func(p *corev1.Pod) {
			now := metav1.Now()
			p.DeletionTimestamp = &now
			p.Status = corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, State: running}}}
		}, []interface{}{"web", "1/1", "Terminating", "0", "10m", "<none>", "<none>", "<none>", "<none>"}},
		{"readiness gates", func(p *corev1.Pod) {
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "a"}, {ConditionType: "b"}}
			p.Status.Conditions = []corev1.PodCondition{{Type: "a", Status: corev1.ConditionTrue}}
			p.Status.NominatedNodeName = "node-2"
		}, []interface{}{"web", "0/1", "Pending", "0", "10m", "<none>", "<none>", "node-2", "1/2"}},
	}
	tbl := table()
	if len(tbl.Columns) != 9 || tbl.Columns[5].Priority != 1 || tbl.Columns[4].Name != "Age" {
		t.Fatalf("columns = %+v", tbl.Columns)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: ago(10 * time.Minute)},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web"}}},
				Status:     corev1.PodStatus{Phase: corev1.PodPending},
			}
			tc.pod(p)
			cells, err := tbl.Row(p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.wantCells {
				if cells[i] != tc.wantCells[i] {
					t.Errorf("cell %d (%s) = %v, want %v", i, tbl.Columns[i].Name, cells[i], tc.wantCells[i])
				}
			}
		})
	}
}

func TestBinding(t *testing.T) {
	binding := func() *corev1.Binding {
		return &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"scheduled-by": "kemudi"}},
			Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
	}
	p := newPod()
	if err := Bind(p, binding()); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if p.Spec.NodeName != "node-1" || p.Annotations["scheduled-by"] != "kemudi" {
		t.Errorf("bound pod = %+v", p.ObjectMeta)
	}
	if len(p.Status.Conditions) != 1 || p.Status.Conditions[0].Type != corev1.PodScheduled || p.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("conditions = %+v", p.Status.Conditions)
	}

	err := Bind(p, binding())
	if !apierrors.IsConflict(err) || err.Error() != `Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "node-1"` {
		t.Errorf("second bind: %v", err)
	}

	b := binding()
	b.Target.Kind = "Pod"
	if err := Bind(newPod(), b); !apierrors.IsInvalid(err) {
		t.Errorf("bind to a Pod: %v", err)
	}
	b = binding()
	b.Name = "other"
	if err := Bind(newPod(), b); !apierrors.IsBadRequest(err) {
		t.Errorf("bind with another name: %v", err)
	}
	b = binding()
	b.UID = "someone-else"
	if err := Bind(newPod(), b); !apierrors.IsConflict(err) {
		t.Errorf("bind with a stale uid: %v", err)
	}
	gated := newPod()
	gated.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "g"}}
	if err := Bind(gated, binding()); !apierrors.IsConflict(err) {
		t.Errorf("bind a gated pod: %v", err)
	}
}

func TestEviction(t *testing.T) {
	p := newPod()
	if err := ValidateEviction(p, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web"}}); err != nil {
		t.Errorf("eviction: %v", err)
	}
	if err := ValidateEviction(p, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "x"}}); !apierrors.IsBadRequest(err) {
		t.Errorf("eviction of another name: %v", err)
	}
	e := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web"}, DeleteOptions: &metav1.DeleteOptions{IgnoreStoreReadErrorWithClusterBreakingPotential: ptr(true)}}
	if err := ValidateEviction(p, e); !apierrors.IsInvalid(err) {
		t.Errorf("eviction with unsafe delete: %v", err)
	}
	if !CanIgnoreDisruptionBudget(p) {
		t.Errorf("a pending pod needs no PDB check")
	}
	p.Status.Phase = corev1.PodRunning
	if CanIgnoreDisruptionBudget(p) {
		t.Errorf("a running pod needs a PDB check")
	}
	MarkDisruptionTarget(p)
	if c := p.Status.Conditions[len(p.Status.Conditions)-1]; c.Type != corev1.DisruptionTarget || c.Reason != "EvictionByEvictionAPI" {
		t.Errorf("condition = %+v", c)
	}
}

func TestGracePeriod(t *testing.T) {
	p := newPod()
	if got := GracePeriod(p, nil); got != 0 {
		t.Errorf("unscheduled pod: %d, want 0", got)
	}
	p.Spec.NodeName = "node-1"
	if got := GracePeriod(p, nil); got != 30 {
		t.Errorf("scheduled pod: %d, want 30", got)
	}
	if got := GracePeriod(p, ptr(int64(5))); got != 5 {
		t.Errorf("requested 5: %d", got)
	}
	if got := GracePeriod(p, ptr(int64(-3))); got != 1 {
		t.Errorf("negative request: %d, want 1", got)
	}
	p.Status.Phase = corev1.PodSucceeded
	if got := GracePeriod(p, ptr(int64(5))); got != 0 {
		t.Errorf("finished pod: %d, want 0", got)
	}
}

func TestSelectableFields(t *testing.T) {
	p := newPod()
	p.Spec.NodeName = "node-1"
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIPs = []corev1.PodIP{{IP: "10.42.0.5"}}
	f := SelectableFields(p)
	want := map[string]string{
		"spec.nodeName": "node-1", "spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler",
		"spec.serviceAccountName": "", "spec.hostNetwork": "false", "status.phase": "Running",
		"status.podIP": "10.42.0.5", "status.nominatedNodeName": "",
	}
	if len(f) != len(want) {
		t.Errorf("fields = %v", f)
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
}

func TestWarnings(t *testing.T) {
	p := newPod()
	p.Name = "web.1"
	p.Spec.NodeSelector = map[string]string{"beta.kubernetes.io/os": "linux"}
	w := Warnings(p)
	if len(w) != 2 || !strings.HasPrefix(w[0], "metadata.name: this is used in the Pod's hostname") ||
		w[1] != `spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use "kubernetes.io/os" instead` {
		t.Errorf("warnings = %q", w)
	}
}

func TestAppArmorAnnotationSync(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: map[string]string{
			corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "c": "localhost/my-profile"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	Default(p)
	PrepareForCreate(p)
	ap := p.Spec.Containers[0].SecurityContext.AppArmorProfile
	if ap == nil || ap.Type != corev1.AppArmorProfileTypeLocalhost || *ap.LocalhostProfile != "my-profile" {
		t.Errorf("profile = %+v", ap)
	}
	if errs := Validate(p); len(errs) != 0 {
		t.Errorf("synced pod rejected: %v", errs)
	}
}

func TestEphemeralContainersUpdate(t *testing.T) {
	old := newPod()
	old.Spec.NodeName = "node-1"
	debug := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger", Image: "busybox", Stdin: true, TTY: true}, TargetContainerName: "web"}

	p := old.DeepCopy()
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{debug}
	p.Spec.RestartPolicy = corev1.RestartPolicyNever // ignored: only ephemeral containers count
	Default(p)
	PrepareForEphemeralUpdate(p, old)
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways || len(p.Spec.EphemeralContainers) != 1 {
		t.Fatalf("prepared spec = %+v", p.Spec)
	}
	assertErrors(t, ValidateEphemeralUpdate(p, old))

	// Ephemeral containers may not set probes, and may not go away.
	bad := p.DeepCopy()
	bad.Spec.EphemeralContainers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}}
	assertErrors(t, ValidateEphemeralUpdate(bad, p),
		wantErr{field.ErrorTypeForbidden, "spec.ephemeralContainers[0].readinessProbe"},
		wantErr{field.ErrorTypeForbidden, "spec.ephemeralContainers"})
	gone := p.DeepCopy()
	gone.Spec.EphemeralContainers = nil
	assertErrors(t, ValidateEphemeralUpdate(gone, p), wantErr{field.ErrorTypeForbidden, "spec.ephemeralContainers"})
}

func TestWarningsHookOnCreateOnly(t *testing.T) {
	p := newPod()
	p.Name = "web.1"
	hook := Resource().Hooks.Warnings
	var typedNil *corev1.Pod
	if w := hook(context.Background(), p, nil); len(w) != 1 {
		t.Errorf("create (nil old): %q", w)
	}
	if w := hook(context.Background(), p, typedNil); len(w) != 1 {
		t.Errorf("create (nil pointer old): %q", w)
	}
	if w := hook(context.Background(), p, p.DeepCopy()); w != nil {
		t.Errorf("update: %q", w)
	}
}
