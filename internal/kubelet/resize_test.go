package kubelet

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// sized is a one-container pod requesting cpu and memory, limited to
// cpuLim and memLim ("" = no limit).
func sized(uid, cpu, mem, cpuLim, memLim string) *corev1.Pod {
	p := testPod(corev1.RestartPolicyAlways, nil, "app")
	p.UID, p.Name = types.UID("uid-"+uid), uid
	r := &p.Spec.Containers[0].Resources
	r.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
	if cpuLim != "" || memLim != "" {
		r.Limits = corev1.ResourceList{}
	}
	if cpuLim != "" {
		r.Limits[corev1.ResourceCPU] = resource.MustParse(cpuLim)
	}
	if memLim != "" {
		r.Limits[corev1.ResourceMemory] = resource.MustParse(memLim)
	}
	return p
}

func TestDecideResize(t *testing.T) {
	node := &corev1.Node{Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourcePods: resource.MustParse("110")}}}
	static := sized("static", "500m", "64Mi", "", "")
	static.Annotations = map[string]string{"kubernetes.io/config.source": "file"}
	tests := []struct {
		name                string
		pod                 *corev1.Pod
		allocated           *corev1.Pod
		others              []*corev1.Pod
		node                *corev1.Node
		want                ResizeDecision
		wantMessageContains string
	}{
		{name: "nothing asked", pod: sized("a", "500m", "64Mi", "", ""), allocated: sized("a", "500m", "64Mi", "", ""), node: node},
		{name: "fits", pod: sized("a", "1500m", "64Mi", "", ""), allocated: sized("a", "500m", "64Mi", "", ""), node: node,
			others: []*corev1.Pod{sized("b", "500m", "64Mi", "", "")}, want: ResizeDecision{Accept: true}},
		{name: "shrinks beside a full node", pod: sized("a", "100m", "64Mi", "", ""), allocated: sized("a", "500m", "64Mi", "", ""), node: node,
			others: []*corev1.Pod{sized("b", "1900m", "64Mi", "", "")}, want: ResizeDecision{Accept: true}},
		{name: "no room beside the others: deferred", pod: sized("a", "1600m", "64Mi", "", ""), allocated: sized("a", "500m", "64Mi", "", ""), node: node,
			others: []*corev1.Pod{sized("b", "1", "64Mi", "", "")},
			want:   ResizeDecision{Reason: corev1.PodReasonDeferred, Message: "Node didn't have enough resource: cpu, requested: 1600, used: 1000, capacity: 2000"}},
		{name: "limits only change: fits", pod: sized("a", "500m", "64Mi", "1", "128Mi"), allocated: sized("a", "500m", "64Mi", "700m", "100Mi"), node: node,
			want: ResizeDecision{Accept: true}},
		{name: "static pod", pod: static, allocated: sized("static", "100m", "64Mi", "", ""), node: node,
			want: ResizeDecision{Reason: corev1.PodReasonInfeasible, Message: "In-place resize of static-pods is not supported"}},
		{name: "node not registered", pod: sized("a", "1", "64Mi", "", ""), allocated: sized("a", "500m", "64Mi", "", ""),
			want: ResizeDecision{Reason: corev1.PodReasonDeferred, Message: "node not registered yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecideResize(ResizeInput{Pod: tt.pod, Allocated: allocationOf(tt.allocated), Others: tt.others, Node: tt.node})
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAllocationApplyAndKeep(t *testing.T) {
	spec := sized("a", "1", "128Mi", "2", "256Mi")
	alloc := allocationOf(sized("a", "500m", "64Mi", "1", "128Mi"))
	run := alloc.Apply(spec)
	if got := run.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; got.String() != "500m" {
		t.Errorf("running cpu request %s, want the allocated 500m", got.String())
	}
	if got := spec.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]; got.String() != "1" {
		t.Errorf("Apply changed the spec: cpu request %s", got.String())
	}
	if same := allocationOf(spec).Apply(spec); same != spec {
		t.Error("Apply of the spec's own allocation copied the pod")
	}
	dir := t.TempDir()
	if _, ok, err := loadAllocation(dir); ok || err != nil {
		t.Fatalf("no allocation kept yet: ok %v err %v", ok, err)
	}
	if err := saveAllocation(dir, alloc); err != nil {
		t.Fatal(err)
	}
	back, ok, err := loadAllocation(dir)
	if err != nil || !ok || !back.Equal(alloc) {
		t.Fatalf("kept allocation %+v (ok %v, err %v), want %+v", back, ok, err, alloc)
	}
}

// running is container id of pod running in sandbox "sb" with the cgroup
// settings of res.
func runningWith(pod *corev1.Pod, id, name string, res *runtimeapi.LinuxContainerResources) *runtimeapi.ContainerStatus {
	cs := ctr(pod, id, name, "running", 1, 0, t0)
	cs.Resources = &runtimeapi.ContainerResources{Linux: res}
	return cs
}

func TestPlanResize(t *testing.T) {
	const memCap = 4 << 30
	old := sized("a", "500m", "64Mi", "1", "128Mi")
	withPolicy := func(p *corev1.Pod, name corev1.ResourceName) *corev1.Pod {
		p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: name, RestartPolicy: corev1.RestartContainer}}
		return p
	}
	tests := []struct {
		name        string
		allocated   *corev1.Pod
		state       func(allocated *corev1.Pod) PodState
		wantUpdate  bool
		wantRestart bool
	}{
		{name: "has its allocation", allocated: old},
		{name: "cpu limit up: in place", allocated: sized("a", "500m", "64Mi", "2", "128Mi"), wantUpdate: true},
		{name: "memory limit down: in place", allocated: sized("a", "500m", "64Mi", "1", "100Mi"), wantUpdate: true},
		{name: "memory request only (burstable's OOM score): in place", allocated: sized("a", "500m", "96Mi", "1", "128Mi"), wantUpdate: true},
		{name: "memory with RestartContainer", allocated: withPolicy(sized("a", "500m", "64Mi", "1", "256Mi"), corev1.ResourceMemory), wantRestart: true},
		{name: "cpu change beside a memory RestartContainer policy: in place", allocated: withPolicy(sized("a", "700m", "64Mi", "1", "128Mi"), corev1.ResourceMemory), wantUpdate: true},
		{name: "not running: starts with its allocation", allocated: sized("a", "500m", "64Mi", "2", "128Mi"), state: func(p *corev1.Pod) PodState {
			cs := ctr(p, "c1", "app", "1", 1, 0, t0)
			return PodState{Sandboxes: []*runtimeapi.PodSandboxStatus{sandbox("sb", 0, true, 1)}, Containers: []*runtimeapi.ContainerStatus{cs}, SandboxOf: map[string]string{"c1": "sb"}}
		}},
		{name: "no sandbox", allocated: sized("a", "500m", "64Mi", "2", "128Mi"), state: func(*corev1.Pod) PodState { return PodState{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := PodState{
				Sandboxes:  []*runtimeapi.PodSandboxStatus{sandbox("sb", 0, true, 1)},
				Containers: []*runtimeapi.ContainerStatus{runningWith(old, "c1", "app", containerResources(old, &old.Spec.Containers[0], memCap))},
				SandboxOf:  map[string]string{"c1": "sb"},
			}
			if tt.state != nil {
				state = tt.state(tt.allocated)
			}
			plan := PlanResize(tt.allocated, state, memCap)
			if (len(plan.Update) > 0) != tt.wantUpdate || (len(plan.Restart) > 0) != tt.wantRestart {
				t.Fatalf("plan %+v: want update %v, restart %v", plan, tt.wantUpdate, tt.wantRestart)
			}
			if tt.wantRestart && plan.Restart["c1"] != "Container app resize requires restart" {
				t.Errorf("restart message %q", plan.Restart["c1"])
			}
			if tt.wantUpdate {
				want := containerResources(tt.allocated, &tt.allocated.Spec.Containers[0], memCap)
				if got := plan.Update[0]; got.ID != "c1" || got.Resources.CpuQuota != want.CpuQuota || got.Resources.MemoryLimitInBytes != want.MemoryLimitInBytes {
					t.Errorf("update %+v, want %+v", got, want)
				}
			}
		})
	}
}

func TestActualResources(t *testing.T) {
	alloc := sized("a", "500m", "64Mi", "1", "128Mi")
	c := &alloc.Spec.Containers[0]
	tests := []struct {
		name string
		lin  *runtimeapi.LinuxContainerResources
		want string
	}{
		{name: "as allocated", lin: containerResources(alloc, c, 0), want: "requests cpu=500m memory=64Mi; limits cpu=1 memory=128Mi"},
		{name: "still the old settings", lin: &runtimeapi.LinuxContainerResources{CpuShares: 256, CpuQuota: 50000, CpuPeriod: 100000, MemoryLimitInBytes: 100 << 20},
			want: "requests cpu=250m memory=64Mi; limits cpu=500m memory=100Mi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := actualResources(c, &runtimeapi.ContainerStatus{Resources: &runtimeapi.ContainerResources{Linux: tt.lin}})
			if s := describeRequirements(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func describeRequirements(r *corev1.ResourceRequirements) string {
	part := func(l corev1.ResourceList) string {
		var out []string
		for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := l[n]; ok {
				out = append(out, string(n)+"="+q.String())
			}
		}
		return strings.Join(out, " ")
	}
	return "requests " + part(r.Requests) + "; limits " + part(r.Limits)
}

func TestLoosest(t *testing.T) {
	a := podCgroupLimits{CPUShares: 512, CPUQuota: 50000, CPUPeriod: cpuPeriod, Memory: 100}
	b := podCgroupLimits{CPUShares: 1024, CPUQuota: 100000, CPUPeriod: cpuPeriod, Memory: 50}
	if got, want := loosest(a, b), (podCgroupLimits{CPUShares: 1024, CPUQuota: 100000, CPUPeriod: cpuPeriod, Memory: 100}); got != want {
		t.Errorf("loosest = %+v, want %+v", got, want)
	}
	unlimited := podCgroupLimits{CPUShares: 2}
	if got, want := loosest(a, unlimited), (podCgroupLimits{CPUShares: 512}); got != want {
		t.Errorf("loosest with an unlimited side = %+v, want %+v", got, want)
	}
}

// TestResizeStatus: the status shows the allocation, the resources the
// runtime reports, and the resize's conditions, at the pod's generation.
func TestResizeStatus(t *testing.T) {
	spec := sized("a", "1", "64Mi", "2", "128Mi")
	spec.Generation = 3
	alloc := sized("a", "500m", "64Mi", "1", "128Mi")
	cs := runningWith(alloc, "c1", "app", containerResources(alloc, &alloc.Spec.Containers[0], 0))
	pending := corev1.PodCondition{Type: corev1.PodResizePending, Status: corev1.ConditionTrue, Reason: corev1.PodReasonDeferred, ObservedGeneration: 3}
	st := ComputeStatus(StatusInput{
		Pod: spec, Allocated: alloc, Now: t0.Add(5 * 1e9), Resize: []corev1.PodCondition{pending},
		State: PodState{Sandboxes: []*runtimeapi.PodSandboxStatus{sandbox("sb", 0, true, 1)}, Containers: []*runtimeapi.ContainerStatus{cs}, SandboxOf: map[string]string{"c1": "sb"}},
	})
	if st.ObservedGeneration != 3 {
		t.Errorf("observedGeneration %d, want 3", st.ObservedGeneration)
	}
	s := st.ContainerStatuses[0]
	if got := s.AllocatedResources[corev1.ResourceCPU]; got.String() != "500m" {
		t.Errorf("allocatedResources cpu %s, want 500m", got.String())
	}
	if s.Resources == nil || describeRequirements(s.Resources) != "requests cpu=500m memory=64Mi; limits cpu=1 memory=128Mi" {
		t.Errorf("resources %v", s.Resources)
	}
	found := false
	for _, c := range st.Conditions {
		if c.Type == corev1.PodResizePending && c.Reason == corev1.PodReasonDeferred {
			found = true
		}
		if c.Type == corev1.PodReady && c.ObservedGeneration != 3 {
			t.Errorf("Ready's observedGeneration %d, want 3", c.ObservedGeneration)
		}
	}
	if !found {
		t.Errorf("conditions %v lack PodResizePending", st.Conditions)
	}
}
