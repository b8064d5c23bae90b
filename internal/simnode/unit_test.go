package simnode

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func TestNodeName(t *testing.T) {
	for _, tc := range []struct {
		prefix   string
		i, count int
		want     string
	}{
		{"node-", 0, 1, "node-0000"},
		{"node-", 42, 5000, "node-0042"},
		{"sim-", 7, 20000, "sim-00007"},
		{"n", 12345, 12346, "n12345"},
	} {
		if got := nodeName(tc.prefix, tc.i, tc.count); got != tc.want {
			t.Errorf("nodeName(%q, %d, %d) = %q, want %q", tc.prefix, tc.i, tc.count, got, tc.want)
		}
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		i          int
		ip, podNet string
	}{
		{0, "10.240.0.1", "10.64.0.0/24"},
		{255, "10.240.1.0", "10.64.255.0/24"},
		{256, "10.240.1.1", "10.65.0.0/24"},
		{MaxCount - 1, "10.240.64.0", "10.127.255.0/24"},
	} {
		if got := nodeIP(tc.i).String(); got != tc.ip {
			t.Errorf("nodeIP(%d) = %s, want %s", tc.i, got, tc.ip)
		}
		if got := fakePodCIDR(tc.i).String(); got != tc.podNet {
			t.Errorf("fakePodCIDR(%d) = %s, want %s", tc.i, got, tc.podNet)
		}
		if !nodeRange.Contains(nodeIP(tc.i)) || !fakePodRange.Contains(fakePodCIDR(tc.i).Addr()) {
			t.Errorf("node %d: addresses out of their ranges", tc.i)
		}
	}
}

func TestNewNode(t *testing.T) {
	o, err := Options{
		Count: 6, Zones: 3, Labels: map[string]string{"pool": "a"},
		Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoExecute}},
		Customize: func(i int, n *corev1.Node) {
			if i == 5 {
				n.Name = "big"
			}
		},
	}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(time.Unix(1000, 0))
	n := newNode(o, 4, now)
	if n.Name != "node-0004" || n.Labels[corev1.LabelHostname] != "node-0004" || n.Labels[corev1.LabelTopologyZone] != "zone-b" || n.Labels["pool"] != "a" {
		t.Errorf("node 4: name %s labels %v", n.Name, n.Labels)
	}
	if n.Spec.Taints[0].TimeAdded == nil || o.Taints[0].TimeAdded != nil {
		t.Errorf("NoExecute taint: timeAdded %v (options changed: %v)", n.Spec.Taints[0].TimeAdded, o.Taints[0].TimeAdded)
	}
	if q := n.Status.Allocatable[corev1.ResourcePods]; q.Value() != 110 {
		t.Errorf("allocatable %v", n.Status.Allocatable)
	}
	if got := n.Status.Addresses; got[0].Address != "10.240.0.5" || got[1].Address != "node-0004" {
		t.Errorf("addresses %v", got)
	}
	if c := n.Status.Conditions[3]; c.Type != corev1.NodeReady || c.Status != corev1.ConditionTrue || c.Reason != "KubeletReady" {
		t.Errorf("ready condition %+v", c)
	}
	big := newNode(o, 5, now)
	if big.Name != "big" || big.Labels[corev1.LabelHostname] != "big" || big.Status.Addresses[1].Address != "big" {
		t.Errorf("renamed node: %s %v %v", big.Name, big.Labels, big.Status.Addresses)
	}
	if a, b := newNode(o, 1, now), newNode(o, 1, now); a.Status.NodeInfo != b.Status.NodeInfo || a.Status.NodeInfo.SystemUUID == newNode(o, 2, now).Status.NodeInfo.SystemUUID {
		t.Errorf("node info not stable per node or shared between nodes")
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if q := o.Capacity[corev1.ResourceCPU]; q.String() != "8" {
		t.Errorf("cpu %v", q)
	}
	if q := o.Capacity[corev1.ResourceMemory]; q.String() != "16Gi" {
		t.Errorf("memory %v", q)
	}
	if o.RenewInterval != 10*time.Second || o.LeaseDuration != 40*time.Second || o.StatusInterval != time.Minute {
		t.Errorf("intervals %v %v %v", o.RenewInterval, o.LeaseDuration, o.StatusInterval)
	}
	for _, bad := range []Options{{Count: -1}, {Zones: -2}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if err := New(nil, Options{Count: MaxCount + 1}).Start(t.Context()); err == nil {
		t.Errorf("count %d: no error", MaxCount+1)
	}
}

func pod(gen int64, status corev1.PodStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1", Generation: gen},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{
				{Name: "setup", Image: "busybox"},
				{Name: "proxy", Image: "envoy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)},
			},
			Containers: []corev1.Container{{Name: "app", Image: "nginx"}, {Name: "log", Image: "fluent"}},
		},
		Status: status,
	}
}

func TestRunningStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Unix(1000, 0))
	t1 := metav1.NewTime(time.Unix(2000, 0))
	pending := corev1.PodStatus{
		Phase:    corev1.PodPending,
		QOSClass: corev1.PodQOSBestEffort,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: t0},
			{Type: corev1.DisruptionTarget, Status: corev1.ConditionFalse, Reason: "x", LastTransitionTime: t0},
		},
	}
	p := pod(3, pending)
	st := runningStatus(p, "10.240.0.1", []string{"10.64.0.2", "fd00::2"}, t1)

	if st.Phase != corev1.PodRunning || st.PodIP != "10.64.0.2" || len(st.PodIPs) != 2 || st.HostIP != "10.240.0.1" ||
		!st.StartTime.Equal(&t1) || st.QOSClass != corev1.PodQOSBestEffort || st.ObservedGeneration != 3 {
		t.Errorf("status %+v", st)
	}
	wantConds := map[corev1.PodConditionType]metav1.Time{
		corev1.PodScheduled: t0, corev1.DisruptionTarget: t0, corev1.PodReadyToStartContainers: t1,
		corev1.PodInitialized: t1, corev1.ContainersReady: t1, corev1.PodReady: t1,
	}
	if len(st.Conditions) != len(wantConds) {
		t.Errorf("conditions %+v", st.Conditions)
	}
	for _, c := range st.Conditions {
		if want, ok := wantConds[c.Type]; !ok || !c.LastTransitionTime.Equal(&want) {
			t.Errorf("condition %s transition %v, want %v", c.Type, c.LastTransitionTime, want)
		}
		if c.Type != corev1.DisruptionTarget && c.Status != corev1.ConditionTrue {
			t.Errorf("condition %s is %s", c.Type, c.Status)
		}
	}
	if ics := st.InitContainerStatuses; len(ics) != 2 || ics[0].State.Terminated == nil || ics[0].State.Terminated.Reason != "Completed" ||
		!ics[0].Ready || ics[1].State.Running == nil || !*ics[1].Started {
		t.Errorf("init container statuses %+v", ics)
	}
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready || cs.State.Running == nil || !cs.State.Running.StartedAt.Equal(&t1) || cs.RestartCount != 0 || cs.ImageID == "" || cs.ContainerID == "" {
			t.Errorf("container status %+v", cs)
		}
	}

	// Later, the same pod gives the same status: nothing to write.
	again := runningStatus(pod(3, st), "10.240.0.1", []string{"10.64.0.2", "fd00::2"}, metav1.NewTime(time.Unix(3000, 0)))
	if !apiequality.Semantic.DeepEqual(st, again) {
		t.Errorf("status changed on resync:\n%+v\n%+v", st, again)
	}
}

func TestReadinessGates(t *testing.T) {
	now := metav1.NewTime(time.Unix(1000, 0))
	for _, tc := range []struct {
		name    string
		conds   []corev1.PodCondition
		ready   corev1.ConditionStatus
		message string
	}{
		{"missing", nil, corev1.ConditionFalse, `corresponding condition of pod readiness gate "a.io/x" does not exist., corresponding condition of pod readiness gate "b.io/y" does not exist.`},
		{"one false", []corev1.PodCondition{{Type: "a.io/x", Status: corev1.ConditionTrue}, {Type: "b.io/y", Status: corev1.ConditionFalse}},
			corev1.ConditionFalse, `the status of pod readiness gate "b.io/y" is not "True", but False`},
		{"all true", []corev1.PodCondition{{Type: "a.io/x", Status: corev1.ConditionTrue}, {Type: "b.io/y", Status: corev1.ConditionTrue}}, corev1.ConditionTrue, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pod(1, corev1.PodStatus{Conditions: tc.conds})
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "a.io/x"}, {ConditionType: "b.io/y"}}
			st := runningStatus(p, "10.240.0.1", []string{"10.64.0.2"}, now)
			c := findCondition(st.Conditions, corev1.PodReady)
			if c.Status != tc.ready || c.Message != tc.message {
				t.Errorf("ready %s %q, want %s %q", c.Status, c.Message, tc.ready, tc.message)
			}
			if tc.ready == corev1.ConditionFalse && c.Reason != reasonReadinessGatesNotReady {
				t.Errorf("reason %q", c.Reason)
			}
			if cr := findCondition(st.Conditions, corev1.ContainersReady); cr.Status != corev1.ConditionTrue {
				t.Errorf("containers ready %s", cr.Status)
			}
		})
	}
}

func TestNotReadyAnnotation(t *testing.T) {
	now := metav1.NewTime(time.Unix(1000, 0))
	p := pod(1, corev1.PodStatus{})
	p.Annotations = map[string]string{AnnotationNotReady: "true"}
	st := runningStatus(p, "10.240.0.1", []string{"10.64.0.2"}, now)
	want := "containers with unready status: [proxy app log]"
	for _, ct := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
		if c := findCondition(st.Conditions, ct); c.Status != corev1.ConditionFalse || c.Reason != reasonContainersNotReady || c.Message != want {
			t.Errorf("%s: %+v", ct, c)
		}
	}
	for _, cs := range st.ContainerStatuses {
		if cs.Ready || cs.State.Running == nil || !*cs.Started {
			t.Errorf("container %s: %+v", cs.Name, cs)
		}
	}
	if st.Phase != corev1.PodRunning {
		t.Errorf("phase %s", st.Phase)
	}
	// The annotation gone, the pod becomes ready.
	later := metav1.NewTime(time.Unix(2000, 0))
	p2 := pod(1, st)
	ready := runningStatus(p2, "10.240.0.1", []string{"10.64.0.2"}, later)
	if c := findCondition(ready.Conditions, corev1.PodReady); c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Equal(&later) || c.Reason != "" || c.Message != "" {
		t.Errorf("ready after the annotation went: %+v", c)
	}
}

func TestFinishedStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Unix(1000, 0))
	now := metav1.NewTime(time.Unix(1010, 0))
	running := runningStatus(pod(1, corev1.PodStatus{}), "10.240.0.1", []string{"10.64.0.2"}, t0)
	for _, f := range []Finish{
		{After: 2 * time.Second, Phase: corev1.PodSucceeded},
		{After: 5 * time.Second, Phase: corev1.PodFailed, ExitCode: 1},
	} {
		st := finishedStatus(pod(1, running), running, f, now)
		if st.Phase != f.Phase {
			t.Errorf("%+v: phase %s", f, st.Phase)
		}
		reason, exit := reasonPodCompleted, "Completed"
		if f.Phase == corev1.PodFailed {
			reason, exit = reasonPodFailed, "Error"
		}
		for _, ct := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
			if c := findCondition(st.Conditions, ct); c.Status != corev1.ConditionFalse || c.Reason != reason || !c.LastTransitionTime.Equal(&now) {
				t.Errorf("%+v: %s %+v", f, ct, c)
			}
		}
		end := metav1.NewTime(t0.Add(f.After))
		for _, cs := range append(st.ContainerStatuses, st.InitContainerStatuses[1]) {
			term := cs.State.Terminated
			if term == nil || term.ExitCode != f.ExitCode || term.Reason != exit || !term.FinishedAt.Equal(&end) || cs.Ready || cs.State.Running != nil {
				t.Errorf("%+v: container %s %+v", f, cs.Name, cs.State)
			}
		}
		if term := st.InitContainerStatuses[0].State.Terminated; term.Reason != "Completed" || !term.FinishedAt.Equal(&t0) {
			t.Errorf("%+v: init container %+v", f, term)
		}
		if running.Phase != corev1.PodRunning || running.ContainerStatuses[0].State.Running == nil {
			t.Errorf("finishedStatus changed the running status")
		}
	}
}

func TestDefaultFinish(t *testing.T) {
	for _, tc := range []struct {
		policy      corev1.RestartPolicy
		annotations map[string]string
		want        Finish
		ok          bool
	}{
		{corev1.RestartPolicyNever, map[string]string{AnnotationCompleteAfter: "2s"}, Finish{After: 2 * time.Second, Phase: corev1.PodSucceeded}, true},
		{corev1.RestartPolicyOnFailure, map[string]string{AnnotationCompleteAfter: "1m"}, Finish{After: time.Minute, Phase: corev1.PodSucceeded}, true},
		{corev1.RestartPolicyNever, map[string]string{AnnotationFailAfter: "3s"}, Finish{After: 3 * time.Second, Phase: corev1.PodFailed, ExitCode: 1}, true},
		{corev1.RestartPolicyNever, map[string]string{AnnotationFailAfter: "1s", AnnotationExitCode: "137"}, Finish{After: time.Second, Phase: corev1.PodFailed, ExitCode: 137}, true},
		{corev1.RestartPolicyNever, map[string]string{AnnotationFailAfter: "1s", AnnotationExitCode: "0"}, Finish{After: time.Second, Phase: corev1.PodFailed, ExitCode: 1}, true},
		{corev1.RestartPolicyOnFailure, map[string]string{AnnotationFailAfter: "3s"}, Finish{}, false},
		{corev1.RestartPolicyAlways, map[string]string{AnnotationCompleteAfter: "2s"}, Finish{}, false},
		{corev1.RestartPolicyNever, map[string]string{AnnotationCompleteAfter: "soon"}, Finish{}, false},
		{corev1.RestartPolicyNever, nil, Finish{}, false},
	} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annotations}, Spec: corev1.PodSpec{RestartPolicy: tc.policy}}
		got, ok := DefaultFinish(p)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s %v: %+v %v, want %+v %v", tc.policy, tc.annotations, got, ok, tc.want, tc.ok)
		}
	}
	start := time.Unix(1000, 0)
	if done, wait := finishDue(start, Finish{After: 2 * time.Second}, start.Add(500*time.Millisecond)); done || wait != 1500*time.Millisecond {
		t.Errorf("finishDue early: %v %v", done, wait)
	}
	if done, _ := finishDue(start, Finish{After: 2 * time.Second}, start.Add(2*time.Second)); !done {
		t.Errorf("finishDue on time: not done")
	}
}

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func TestFits(t *testing.T) {
	alloc := rl("cpu", "4", "memory", "8Gi", "pods", "3", "ephemeral-storage", "10Gi", "example.com/gpu", "1")
	for _, tc := range []struct {
		name            string
		req, used       corev1.ResourceList
		pods            int
		alloc           corev1.ResourceList
		reason, message string
	}{
		{name: "fits", req: rl("cpu", "1", "memory", "1Gi"), used: rl("cpu", "3"), pods: 2, alloc: alloc},
		{name: "best effort", req: rl(), used: rl("cpu", "4", "memory", "8Gi"), pods: 2, alloc: alloc},
		{name: "too many pods", req: rl(), pods: 3, alloc: alloc,
			reason: "OutOfpods", message: "Node didn't have enough resource: pods, requested: 1, used: 3, capacity: 3"},
		{name: "cpu", req: rl("cpu", "500m"), used: rl("cpu", "3700m"), pods: 1, alloc: alloc,
			reason: "OutOfcpu", message: "Node didn't have enough resource: cpu, requested: 500, used: 3700, capacity: 4000"},
		{name: "cpu before memory", req: rl("cpu", "5", "memory", "9Gi"), alloc: alloc, reason: "OutOfcpu",
			message: "Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"},
		{name: "memory", req: rl("memory", "9Gi"), alloc: alloc, reason: "OutOfmemory",
			message: "Node didn't have enough resource: memory, requested: 9663676416, used: 0, capacity: 8589934592"},
		{name: "ephemeral storage", req: rl("ephemeral-storage", "11Gi"), alloc: alloc, reason: "OutOfephemeral-storage",
			message: "Node didn't have enough resource: ephemeral-storage, requested: 11811160064, used: 0, capacity: 10737418240"},
		{name: "extended", req: rl("example.com/gpu", "2"), alloc: alloc, reason: "OutOfexample.com/gpu",
			message: "Node didn't have enough resource: example.com/gpu, requested: 2, used: 0, capacity: 1"},
		{name: "unknown extended resource", req: rl("other.io/fpga", "2"), alloc: alloc},
		{name: "hugepages the node lacks", req: rl("hugepages-2Mi", "2Mi"), alloc: alloc, reason: "OutOfhugepages-2Mi",
			message: "Node didn't have enough resource: hugepages-2Mi, requested: 2097152, used: 0, capacity: 0"},
		{name: "allocatable unknown", req: rl("cpu", "100"), alloc: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason, message, ok := fits(tc.req, tc.used, tc.pods, tc.alloc)
			if ok != (tc.reason == "") || reason != tc.reason || message != tc.message {
				t.Errorf("fits = %q %q %v, want %q %q", reason, message, ok, tc.reason, tc.message)
			}
		})
	}
}

func TestAdmitLedger(t *testing.T) {
	n := &simNode{allocatable: rl("cpu", "2", "pods", "10"), admitted: map[types.UID]corev1.ResourceList{}, used: corev1.ResourceList{}}
	mk := func(uid, cpu string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "c", Resources: corev1.ResourceRequirements{Requests: rl("cpu", cpu)}},
		}}}
	}
	a, b, c := mk("a", "1"), mk("b", "1"), mk("c", "1")
	if _, _, ok := n.admit(a); !ok {
		t.Fatal("a rejected")
	}
	if _, _, ok := n.admit(a); !ok {
		t.Fatal("a rejected when admitted again")
	}
	n.recordAdmitted(b)
	if reason, _, ok := n.admit(c); ok || reason != "OutOfcpu" {
		t.Fatalf("c: %q %v, want OutOfcpu", reason, ok)
	}
	n.release(a)
	n.release(a)
	if _, _, ok := n.admit(c); !ok {
		t.Fatal("c rejected after a finished")
	}
	if q := n.used[corev1.ResourceCPU]; q.MilliValue() != 2000 || len(n.admitted) != 2 {
		t.Errorf("used %v admitted %v", n.used, n.admitted)
	}
}

func TestPodIPs(t *testing.T) {
	p := newPodIPs()
	small := []netip.Prefix{netip.MustParsePrefix("10.42.7.0/29")} // .2 .. .6
	var got []string
	for i := range 5 {
		ips, err := p.get(types.UID(rune('a'+i)), small)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ips...)
	}
	if want := []string{"10.42.7.2", "10.42.7.3", "10.42.7.4", "10.42.7.5", "10.42.7.6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("allocated %v, want %v", got, want)
	}
	if ips, _ := p.get("c", small); ips[0] != "10.42.7.4" {
		t.Errorf("pod c asked again: %v", ips)
	}
	if _, err := p.get("z", small); err == nil {
		t.Errorf("range full: no error")
	}
	p.release("b")
	if ips, err := p.get("z", small); err != nil || ips[0] != "10.42.7.3" {
		t.Errorf("after release: %v %v", ips, err)
	}

	dual := newPodIPs()
	dual.reserve("old", []string{"10.42.0.2", "fd00:42::2"})
	ranges := []netip.Prefix{netip.MustParsePrefix("10.42.0.0/24"), netip.MustParsePrefix("fd00:42::/64")}
	if ips, err := dual.get("new", ranges); err != nil || !reflect.DeepEqual(ips, []string{"10.42.0.3", "fd00:42::3"}) {
		t.Errorf("dual stack: %v %v", ips, err)
	}
}

func TestParseFlags(t *testing.T) {
	taints, err := ParseTaints([]string{"gpu=yes:NoSchedule", "dedicated:NoExecute"})
	if err != nil {
		t.Fatal(err)
	}
	want := []corev1.Taint{{Key: "gpu", Value: "yes", Effect: corev1.TaintEffectNoSchedule}, {Key: "dedicated", Effect: corev1.TaintEffectNoExecute}}
	if !reflect.DeepEqual(taints, want) {
		t.Errorf("taints %+v", taints)
	}
	for _, bad := range []string{"gpu=yes", "gpu=yes:Never", "bad key:NoSchedule", "k=bad value:NoSchedule"} {
		if _, err := ParseTaints([]string{bad}); err == nil {
			t.Errorf("taint %q: no error", bad)
		}
	}
	labels, err := ParseLabels([]string{"a=b", "example.com/c="})
	if err != nil || !reflect.DeepEqual(labels, map[string]string{"a": "b", "example.com/c": ""}) {
		t.Errorf("labels %v %v", labels, err)
	}
	for _, bad := range []string{"a", "a=b c", "=b"} {
		if _, err := ParseLabels([]string{bad}); err == nil {
			t.Errorf("label %q: no error", bad)
		}
	}
	res, err := ParseResources([]string{"cpu=4", "example.com/gpu=2"})
	if err != nil || res.Cpu().String() != "4" || len(res) != 2 {
		t.Errorf("resources %v %v", res, err)
	}
	for _, bad := range []string{"cpu", "cpu=lots", "memory=-1Gi", "=1"} {
		if _, err := ParseResources([]string{bad}); err == nil {
			t.Errorf("resource %q: no error", bad)
		}
	}
}
