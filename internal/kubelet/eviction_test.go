package kubelet

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // Threshold.String()
		wantErr string
	}{
		{in: DefaultEvictionHard, want: []string{"memory.available<100Mi", "nodefs.available<10%", "nodefs.inodesFree<5%", "imagefs.available<15%"}},
		{in: "pid.available<1k, memory.available<1.5Gi", want: []string{"memory.available<1536Mi", "pid.available<1k"}},
		{in: "nodefs.available<7.5%", want: []string{"nodefs.available<7.5%"}},
		{in: "memory.available<0%,nodefs.available<0", want: nil},
		{in: "", want: nil},
		{in: "memory.available>100Mi", wantErr: `eviction threshold "memory.available>100Mi": want signal<quantity`},
		{in: "cpu.available<1", wantErr: `unsupported eviction signal "cpu.available"`},
		{in: "memory.available<lots", wantErr: `"lots" is not a quantity or a percentage`},
		{in: "nodefs.available<120%", wantErr: "eviction percentage threshold 120% must be between 0% and 100%"},
		{in: "memory.available<-1Mi", wantErr: "eviction threshold -1Mi must be positive"},
		{in: "memory.available<1Gi,memory.available<2Gi", wantErr: "found duplicate eviction threshold for signal memory.available"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseThresholds(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, th := range got {
				s = append(s, th.String())
			}
			if !reflect.DeepEqual(s, tc.want) {
				t.Errorf("got %v, want %v", s, tc.want)
			}
		})
	}
}

func TestCrossedAndConditions(t *testing.T) {
	th, err := ParseThresholds(DefaultEvictionHard + ",pid.available<100")
	if err != nil {
		t.Fatal(err)
	}
	const gi = 1 << 30
	fine := map[Signal]Observation{
		SignalMemoryAvailable:  {Available: 2 * gi, Capacity: 8 * gi},
		SignalNodeFsAvailable:  {Available: 20 * gi, Capacity: 100 * gi},
		SignalNodeFsInodesFree: {Available: 900, Capacity: 1000},
		SignalImageFsAvailable: {Available: 20 * gi, Capacity: 100 * gi},
		SignalPIDAvailable:     {Available: 30000, Capacity: 32768},
	}
	with := func(s Signal, available int64) map[Signal]Observation {
		m := map[Signal]Observation{}
		for k, v := range fine {
			m[k] = v
		}
		o := m[s]
		o.Available = available
		m[s] = o
		return m
	}
	tests := []struct {
		name string
		obs  map[Signal]Observation
		want []Signal
		cond []corev1.NodeConditionType
	}{
		{name: "nothing crossed", obs: fine},
		{name: "memory at the threshold is not below it", obs: with(SignalMemoryAvailable, 100<<20)},
		{name: "memory below 100Mi", obs: with(SignalMemoryAvailable, 100<<20-1), want: []Signal{SignalMemoryAvailable},
			cond: []corev1.NodeConditionType{corev1.NodeMemoryPressure}},
		{name: "nodefs below 10%", obs: with(SignalNodeFsAvailable, 9*gi), want: []Signal{SignalNodeFsAvailable},
			cond: []corev1.NodeConditionType{corev1.NodeDiskPressure}},
		{name: "imagefs at 12% (a real disk here)", obs: with(SignalImageFsAvailable, 12*gi), want: []Signal{SignalImageFsAvailable},
			cond: []corev1.NodeConditionType{corev1.NodeDiskPressure}},
		{name: "inodes below 5%", obs: with(SignalNodeFsInodesFree, 49), want: []Signal{SignalNodeFsInodesFree},
			cond: []corev1.NodeConditionType{corev1.NodeDiskPressure}},
		{name: "pids", obs: with(SignalPIDAvailable, 99), want: []Signal{SignalPIDAvailable},
			cond: []corev1.NodeConditionType{corev1.NodePIDPressure}},
		{name: "not observed is not crossed", obs: map[Signal]Observation{}},
	}
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			crossed := Crossed(th, tc.obs)
			var got []Signal
			for _, c := range crossed {
				got = append(got, c.Signal)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("crossed %v, want %v", got, tc.want)
			}
			conds := PressureConditions(crossed, map[corev1.NodeConditionType]time.Time{}, 5*time.Minute, now)
			if len(conds) != len(tc.cond) {
				t.Errorf("conditions %v, want %v", conds, tc.cond)
			}
			for _, c := range tc.cond {
				if !conds[c] {
					t.Errorf("conditions %v, want %s", conds, c)
				}
			}
		})
	}
}

func TestPressureTransitionPeriod(t *testing.T) {
	mem, _ := ParseThresholds("memory.available<100Mi")
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	last := map[corev1.NodeConditionType]time.Time{}
	steps := []struct {
		at      time.Duration
		crossed bool
		want    bool
	}{
		{0, true, true},
		{10 * time.Second, false, true}, // still within the period
		{4 * time.Minute, false, true},
		{5*time.Minute + time.Second, false, false},
		{6 * time.Minute, true, true},
	}
	for _, s := range steps {
		var c []Threshold
		if s.crossed {
			c = mem
		}
		got := PressureConditions(c, last, 5*time.Minute, t0.Add(s.at))[corev1.NodeMemoryPressure]
		if got != s.want {
			t.Errorf("at %v (crossed %v): MemoryPressure %v, want %v", s.at, s.crossed, got, s.want)
		}
	}
}

func usagePod(name string, prio int32, memReq string, used int64, qos ...string) PodUsage {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{Priority: ptr.To(prio), Containers: []corev1.Container{{Name: "main"}}}}
	if memReq != "" {
		q := resource.MustParse(memReq)
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: q}
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: q}
	}
	return PodUsage{Pod: p, Memory: map[string]int64{"main": used}, Disk: map[string]int64{"main": used}}
}

func TestRankForEviction(t *testing.T) {
	const mi = 1 << 20
	static := usagePod("static", 0, "", 900*mi)
	static.Pod.Annotations = map[string]string{annotationConfigSource: sourceFile}
	critical := usagePod("critical", systemCriticalPriority, "", 900*mi)
	done := usagePod("done", 0, "", 900*mi)
	done.Pod.Status.Phase = corev1.PodFailed
	tests := []struct {
		name   string
		signal Signal
		pods   []PodUsage
		want   []string
	}{
		{name: "best effort over guaranteed under its request",
			signal: SignalMemoryAvailable,
			pods:   []PodUsage{usagePod("guaranteed", 0, "64Mi", 10*mi), usagePod("besteffort", 0, "", 1*mi)},
			want:   []string{"besteffort", "guaranteed"}},
		{name: "among those over their requests: lower priority first",
			signal: SignalMemoryAvailable,
			pods:   []PodUsage{usagePod("big-high", 100, "", 500*mi), usagePod("small-low", 0, "", 5*mi)},
			want:   []string{"small-low", "big-high"}},
		{name: "same priority: more above the request first",
			signal: SignalMemoryAvailable,
			pods:   []PodUsage{usagePod("a", 0, "10Mi", 20*mi), usagePod("b", 0, "10Mi", 50*mi), usagePod("c", 0, "", 15*mi)},
			want:   []string{"b", "c", "a"}},
		{name: "under requests come last, even at a lower priority",
			signal: SignalMemoryAvailable,
			pods:   []PodUsage{usagePod("low-under", -10, "100Mi", 50*mi), usagePod("high-over", 1000, "", 1*mi)},
			want:   []string{"high-over", "low-under"}},
		{name: "static, critical and finished pods are never evicted",
			signal: SignalNodeFsAvailable,
			pods:   []PodUsage{static, critical, done, usagePod("plain", 0, "", 1)},
			want:   []string{"plain"}},
		{name: "pids: priority, then processes",
			signal: SignalPIDAvailable,
			pods: []PodUsage{{Pod: usagePod("many", 5, "", 0).Pod, Processes: 100}, {Pod: usagePod("few", 5, "", 0).Pod, Processes: 3},
				{Pod: usagePod("low", 1, "", 0).Pod, Processes: 1}},
			want: []string{"low", "many", "few"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, u := range RankForEviction(tc.signal, tc.pods) {
				got = append(got, u.Pod.Name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEvictionMessage(t *testing.T) {
	mem, _ := ParseThresholds("memory.available<100Mi")
	u := usagePod("web", 0, "", 5<<20)
	got := EvictionMessage(mem[0], Observation{Available: 90 << 20, Capacity: 8 << 30}, u)
	want := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi. Container main was using 5Mi, request is 0, has larger consumption of memory. "
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	fs, _ := ParseThresholds("nodefs.available<10%")
	under := usagePod("quiet", 0, "", 0)
	got = EvictionMessage(fs[0], Observation{Available: 5 << 30, Capacity: 100 << 30}, under)
	want = "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5Gi. "
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestEvictedPod(t *testing.T) {
	p := usagePod("web", 0, "", 0).Pod
	p.Status.Phase = corev1.PodRunning
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	e := evictedPod(p, "The node was low on resource: memory. ", now)
	if e.Status.Phase != corev1.PodFailed || e.Status.Reason != "Evicted" || e.Status.Message != "The node was low on resource: memory. " {
		t.Errorf("status %+v", e.Status)
	}
	if n := len(e.Status.Conditions); n != 1 || e.Status.Conditions[0].Type != corev1.DisruptionTarget || e.Status.Conditions[0].Reason != "TerminationByKubelet" {
		t.Errorf("conditions %+v", e.Status.Conditions)
	}
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("the informer's pod was changed")
	}
	p.Status.Phase = corev1.PodSucceeded
	if evictedPod(p, "x", now) != p {
		t.Errorf("a pod that succeeded stays as it ended")
	}
}

func TestDeadContainers(t *testing.T) {
	c := func(id, pod, name string, created int64, st runtimeapi.ContainerState) *runtimeapi.Container {
		return &runtimeapi.Container{Id: id, CreatedAt: created, State: st, Metadata: &runtimeapi.ContainerMetadata{Name: name},
			Labels: map[string]string{labelPodUID: pod}}
	}
	exited, running := runtimeapi.ContainerState_CONTAINER_EXITED, runtimeapi.ContainerState_CONTAINER_RUNNING
	got := deadContainers([]*runtimeapi.Container{
		c("a1", "p1", "app", 1, exited), c("a3", "p1", "app", 3, running), c("a2", "p1", "app", 2, exited),
		c("b1", "p2", "app", 1, exited), // the newest of its pod: its status shows it
		c("s1", "p1", "side", 1, exited),
	})
	if want := []string{"a2", "a1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
