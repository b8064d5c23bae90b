package node

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestAllocatable(t *testing.T) {
	m := Machine{CPUs: 4, MemoryTotal: 8 << 30, FsTotal: 100 << 30}
	got := Allocatable(Capacity(m, 110),
		corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
		corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")})
	for name, want := range map[corev1.ResourceName]string{
		corev1.ResourceCPU:              "3",
		corev1.ResourceMemory:           "7068Mi", // 8Gi - 1Gi - 100Mi eviction
		corev1.ResourceEphemeralStorage: "92160Mi",
		corev1.ResourcePods:             "110",
	} {
		q := got[name]
		if q.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("%s = %s, want %s", name, q.String(), want)
		}
	}
	withReserve := AllocatableWith(Capacity(m, 110), nil, nil, corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")})
	if q := withReserve[corev1.ResourceMemory]; q.Cmp(resource.MustParse("7Gi")) != 0 {
		t.Errorf("memory with a 1Gi eviction threshold = %s, want 7Gi", q.String())
	}
	if q := withReserve[corev1.ResourceEphemeralStorage]; q.Cmp(resource.MustParse("100Gi")) != 0 {
		t.Errorf("ephemeral-storage with no nodefs threshold = %s, want 100Gi", q.String())
	}
	if q := Allocatable(Capacity(Machine{CPUs: 1}, 110), corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}, nil)[corev1.ResourceCPU]; q.Sign() != 0 {
		t.Errorf("over-reserved cpu: %s, want 0", q.String())
	}
}

func TestComputeStatusConditions(t *testing.T) {
	ready := &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true}, {Type: runtimeapi.NetworkReady, Status: true}}}
	noNet := &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true},
		{Type: runtimeapi.NetworkReady, Status: false, Reason: "NetworkPluginNotReady", Message: "cni plugin not initialized"}}}
	healthy := Machine{CPUs: 2, MemoryTotal: 4 << 30, MemoryAvailable: 2 << 30, FsTotal: 100, FsAvailable: 50, PIDMax: 1000, PIDsInUse: 100}
	tests := []struct {
		name  string
		f     Facts
		want  map[corev1.NodeConditionType]corev1.ConditionStatus
		ready string // Ready's message
	}{
		{name: "ready", f: Facts{Machine: healthy, RuntimeStatus: ready},
			want:  map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeReady: "True", corev1.NodeMemoryPressure: "False", corev1.NodeDiskPressure: "False", corev1.NodePIDPressure: "False"},
			ready: "kubelet is posting ready status"},
		{name: "network not ready", f: Facts{Machine: healthy, RuntimeStatus: noNet},
			want:  map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeReady: "False"},
			ready: "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:cni plugin not initialized"},
		{name: "runtime down", f: Facts{Machine: healthy, RuntimeErr: errors.New("connection refused")},
			want:  map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeReady: "False"},
			ready: "container runtime is down: connection refused"},
		{name: "pressure", f: Facts{Machine: Machine{MemoryTotal: 1 << 30, MemoryAvailable: 50 << 20, FsTotal: 100, FsAvailable: 5, PIDMax: 1000, PIDsInUse: 950}, RuntimeStatus: ready},
			want: map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeReady: "True", corev1.NodeMemoryPressure: "True", corev1.NodeDiskPressure: "True", corev1.NodePIDPressure: "True"}},
		{name: "the eviction manager's pressure wins over the machine's", f: Facts{Machine: healthy, RuntimeStatus: ready,
			Pressure: map[corev1.NodeConditionType]bool{corev1.NodeMemoryPressure: true}},
			want: map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeMemoryPressure: "True", corev1.NodeDiskPressure: "False", corev1.NodePIDPressure: "False"}},
		{name: "no thresholds: no pressure", f: Facts{Machine: Machine{MemoryTotal: 1 << 30, MemoryAvailable: 1, FsTotal: 100, FsAvailable: 1}, RuntimeStatus: ready,
			Pressure: map[corev1.NodeConditionType]bool{}},
			want: map[corev1.NodeConditionType]corev1.ConditionStatus{corev1.NodeMemoryPressure: "False", corev1.NodeDiskPressure: "False"}},
	}
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := ComputeStatus(tc.f, corev1.NodeStatus{}, now)
			for _, c := range st.Conditions {
				if want, ok := tc.want[c.Type]; ok && c.Status != want {
					t.Errorf("%s = %s (%s), want %s", c.Type, c.Status, c.Message, want)
				}
				if c.Type == corev1.NodeReady && tc.ready != "" && c.Message != tc.ready {
					t.Errorf("Ready message %q, want %q", c.Message, tc.ready)
				}
			}
		})
	}
	// A condition that keeps its status keeps its transition time.
	earlier := metav1.NewTime(now.Add(-time.Hour))
	prev := corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: "True", LastTransitionTime: earlier}}}
	for _, c := range ComputeStatus(tests[0].f, prev, now).Conditions {
		if c.Type == corev1.NodeReady && (!c.LastTransitionTime.Equal(&earlier) || !c.LastHeartbeatTime.Equal(&now)) {
			t.Errorf("Ready times: transition %v heartbeat %v", c.LastTransitionTime, c.LastHeartbeatTime)
		}
	}
}

// Conditions others own stay where they were, as they were written;
// the kubelet's own replace theirs in place.
func TestComputeStatusKeepsOthersConditions(t *testing.T) {
	earlier := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	route := corev1.NodeCondition{Type: corev1.NodeNetworkUnavailable, Status: "False", Reason: "RouteCreated",
		Message: "RouteController created a route", LastTransitionTime: earlier, LastHeartbeatTime: earlier}
	npd := corev1.NodeCondition{Type: "KernelDeadlock", Status: "False", Reason: "KernelHasNoDeadlock"}
	prev := corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		route,
		{Type: corev1.NodeReady, Status: "False", Reason: "KubeletNotReady"},
		npd,
		{Type: corev1.NodeReady, Status: "False", Reason: "KubeletNotReady"},
	}}
	f := Facts{Machine: Machine{CPUs: 2, MemoryTotal: 4 << 30, MemoryAvailable: 2 << 30},
		RuntimeStatus: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
			{Type: runtimeapi.RuntimeReady, Status: true}, {Type: runtimeapi.NetworkReady, Status: true}}}}
	var got []string
	for _, c := range ComputeStatus(f, prev, now).Conditions {
		got = append(got, string(c.Type)+"="+string(c.Status))
		switch c.Type {
		case route.Type:
			if c != route {
				t.Errorf("NetworkUnavailable = %+v, want it unchanged %+v", c, route)
			}
		case npd.Type:
			if c != npd {
				t.Errorf("KernelDeadlock = %+v, want it unchanged %+v", c, npd)
			}
		}
	}
	want := "NetworkUnavailable=False Ready=True KernelDeadlock=False MemoryPressure=False DiskPressure=False PIDPressure=False"
	if strings.Join(got, " ") != want {
		t.Errorf("conditions %s, want %s", strings.Join(got, " "), want)
	}
}

func TestComputeStatusRuntimeHandlers(t *testing.T) {
	yes, no := true, false
	prev := []corev1.NodeRuntimeHandler{{Name: "old", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &no, UserNamespaces: &no}}}
	tests := []struct {
		name string
		hs   []*runtimeapi.RuntimeHandler
		want []corev1.NodeRuntimeHandler
	}{{
		name: "the runtime's handlers in its order, with their features",
		hs: []*runtimeapi.RuntimeHandler{
			{Name: "", Features: &runtimeapi.RuntimeHandlerFeatures{RecursiveReadOnlyMounts: true}},
			{Name: "crun", Features: &runtimeapi.RuntimeHandlerFeatures{UserNamespaces: true}},
		},
		want: []corev1.NodeRuntimeHandler{
			{Name: "", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &yes, UserNamespaces: &no}},
			{Name: "crun", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &no, UserNamespaces: &yes}},
		},
	}, {
		name: "a handler without features has them false",
		hs:   []*runtimeapi.RuntimeHandler{{Name: "runc"}},
		want: []corev1.NodeRuntimeHandler{{Name: "runc", Features: &corev1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &no, UserNamespaces: &no}}},
	}, {
		name: "no answer from the runtime keeps the last report",
		want: prev,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := ComputeStatus(Facts{RuntimeHandlers: tc.hs}, corev1.NodeStatus{RuntimeHandlers: prev}, metav1.Now())
			if !reflect.DeepEqual(st.RuntimeHandlers, tc.want) {
				t.Errorf("handlers %s, want %s", spew(st.RuntimeHandlers), spew(tc.want))
			}
		})
	}
}

func spew(hs []corev1.NodeRuntimeHandler) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "{%q rro=%v userns=%v}", h.Name, *h.Features.RecursiveReadOnlyMounts, *h.Features.UserNamespaces)
	}
	return b.String()
}

func TestWorkingSet(t *testing.T) {
	tests := []struct {
		name        string
		usage, stat string
		want        int64
		wantOK      bool
	}{
		{"usage less inactive file", "1000\n", "cache 700\ntotal_cache 800\ntotal_inactive_file 300\n", 700, true},
		{"never below zero", "100\n", "total_inactive_file 300\n", 0, true},
		{"no total_inactive_file", "100\n", "inactive_file 30\n", 0, false},
		{"bad usage", "x\n", "total_inactive_file 3\n", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := workingSet([]byte(tc.usage), []byte(tc.stat))
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("%d %v, want %d %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestVolumesInUse: the node reports the volumes its pods use, a change
// of them alone is written at once (a detach waits for it), and the
// attach/detach controller's volumesAttached is kept.
func TestVolumesInUse(t *testing.T) {
	disk := corev1.UniqueVolumeName("kubernetes.io/csi/disk.csi.test^vol-1")
	attached := []corev1.AttachedVolume{{Name: disk}}
	prev := ComputeStatus(Facts{VolumesInUse: []corev1.UniqueVolumeName{disk}}, corev1.NodeStatus{VolumesAttached: attached}, metav1.Now())
	if !reflect.DeepEqual(prev.VolumesInUse, []corev1.UniqueVolumeName{disk}) || !reflect.DeepEqual(prev.VolumesAttached, attached) {
		t.Fatalf("in use %v, attached %v", prev.VolumesInUse, prev.VolumesAttached)
	}
	unmounted := ComputeStatus(Facts{}, prev, metav1.Now())
	if len(unmounted.VolumesInUse) != 0 || !reflect.DeepEqual(unmounted.VolumesAttached, attached) {
		t.Errorf("after unmount: in use %v, attached %v", unmounted.VolumesInUse, unmounted.VolumesAttached)
	}
	if sameStatus(unmounted, prev) {
		t.Error("a change of volumesInUse alone is not written")
	}
}
