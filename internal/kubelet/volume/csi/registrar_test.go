package csi

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kemudi/kemudi/internal/kubelet/volume/csitest"
)

// TestRegistrar: a driver's socket in the registry directory registers
// it (CSINode entry, nodeid annotation, topology label, the driver told
// it is registered); its socket gone, it leaves the CSINode and the
// annotation.
func TestRegistrar(t *testing.T) {
	dir, err := os.MkdirTemp("", "csireg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	client := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "uid-1"}})
	drivers := NewDrivers()
	r := NewRegistrar(filepath.Join(dir, "plugins_registry"), "node-1", client, drivers, slog.New(slog.DiscardHandler))
	r.resync = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	cfg := csitest.Config{Name: "disk.csi.test", NodeID: "node-1-id", MaxVolumes: 8, Topology: map[string]string{"topology.disk.csi.test/zone": "z1"}, DataDir: filepath.Join(dir, "data")}
	d, err := csitest.Start(cfg, filepath.Join(dir, "plugins_registry", "disk.csi.test-reg.sock"), filepath.Join(dir, "plugins", "disk.csi.test", "csi.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()

	waitFor(t, "driver in CSINode", func() bool {
		cn, err := client.StorageV1().CSINodes().Get(ctx, "node-1", metav1.GetOptions{})
		return err == nil && len(cn.Spec.Drivers) == 1
	})
	cn, _ := client.StorageV1().CSINodes().Get(ctx, "node-1", metav1.GetOptions{})
	got := cn.Spec.Drivers[0]
	if got.Name != "disk.csi.test" || got.NodeID != "node-1-id" || len(got.TopologyKeys) != 1 || got.TopologyKeys[0] != "topology.disk.csi.test/zone" ||
		got.Allocatable == nil || got.Allocatable.Count == nil || *got.Allocatable.Count != 8 {
		t.Errorf("CSINode driver = %+v", got)
	}
	if len(cn.OwnerReferences) != 1 || cn.OwnerReferences[0].UID != "uid-1" || cn.OwnerReferences[0].Kind != "Node" {
		t.Errorf("CSINode owners = %+v", cn.OwnerReferences)
	}
	n, _ := client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
	if a := n.Annotations[NodeIDAnnotation]; a != `{"disk.csi.test":"node-1-id"}` {
		t.Errorf("annotation %s = %q", NodeIDAnnotation, a)
	}
	if l := n.Labels["topology.disk.csi.test/zone"]; l != "z1" {
		t.Errorf("topology label = %q", l)
	}
	waitFor(t, "driver told", func() bool { s := d.Registered(); return s != nil && s.PluginRegistered })
	if dr, ok := drivers.Get("disk.csi.test"); !ok || dr.Endpoint != d.Endpoint {
		t.Errorf("registered driver = %+v, %v", dr, ok)
	}

	d.Stop()
	waitFor(t, "driver gone from CSINode, annotation and registry", func() bool {
		cn, err := client.StorageV1().CSINodes().Get(ctx, "node-1", metav1.GetOptions{})
		n, err2 := client.CoreV1().Nodes().Get(ctx, "node-1", metav1.GetOptions{})
		_, has := n.Annotations[NodeIDAnnotation]
		_, registered := drivers.Get("disk.csi.test")
		return err == nil && err2 == nil && len(cn.Spec.Drivers) == 0 && !has && !registered
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRegistrationActions(t *testing.T) {
	t0, t1 := time.Unix(100, 0), time.Unix(200, 0)
	for _, tc := range []struct {
		name      string
		seen, now map[string]time.Time
		want      []registrationAction
	}{
		{"nothing", nil, nil, nil},
		{"new", nil, map[string]time.Time{"/r/a.sock": t0}, []registrationAction{{socket: "/r/a.sock"}}},
		{"same", map[string]time.Time{"/r/a.sock": t0}, map[string]time.Time{"/r/a.sock": t0}, nil},
		{"gone", map[string]time.Time{"/r/a.sock": t0}, nil, []registrationAction{{socket: "/r/a.sock", deregister: true}}},
		{"replaced", map[string]time.Time{"/r/a.sock": t0}, map[string]time.Time{"/r/a.sock": t1},
			[]registrationAction{{socket: "/r/a.sock", deregister: true}, {socket: "/r/a.sock"}}},
		{"one of each", map[string]time.Time{"/r/b.sock": t0, "/r/c.sock": t0}, map[string]time.Time{"/r/a.sock": t0, "/r/c.sock": t0},
			[]registrationAction{{socket: "/r/b.sock", deregister: true}, {socket: "/r/a.sock"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := registrationActions(tc.seen, tc.now)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

func TestCheckVersions(t *testing.T) {
	for _, tc := range []struct {
		versions []string
		ok       bool
	}{
		{[]string{"1.0.0"}, true},
		{[]string{"0.3.0", "v1.5.0"}, true},
		{[]string{"0.3.0"}, false},
		{nil, false},
		{[]string{"x"}, false},
	} {
		if err := checkVersions("d", tc.versions); (err == nil) != tc.ok {
			t.Errorf("checkVersions(%q) = %v, want ok=%v", tc.versions, err, tc.ok)
		}
	}
}

func TestNodeInfoEdits(t *testing.T) {
	info := nodeInfo{nodeID: "id-1", maxVolumes: 3, topology: map[string]string{"z": "1", "a": "2"}}
	cn := &storagev1.CSINode{}
	if !withDriver(cn, "d1", info) || withDriver(cn, "d1", info) {
		t.Error("withDriver: first adds, second changes nothing")
	}
	if d := cn.Spec.Drivers[0]; d.NodeID != "id-1" || d.TopologyKeys[0] != "a" || *d.Allocatable.Count != 3 {
		t.Errorf("driver = %+v", d)
	}
	if withoutStale(cn, "d1", info) {
		t.Error("withoutStale removed an unchanged driver")
	}
	if !withoutStale(cn, "d1", nodeInfo{nodeID: "id-2"}) || len(cn.Spec.Drivers) != 0 {
		t.Error("withoutStale kept a driver whose node ID changed")
	}
	if withoutDriver(cn, "d1") {
		t.Error("withoutDriver of a missing driver changed something")
	}

	for _, tc := range []struct {
		name, before, driver, id, want string
		changed                        bool
	}{
		{"add to none", "", "d1", "a", `{"d1":"a"}`, true},
		{"add to one", `{"d0":"x"}`, "d1", "a", `{"d0":"x","d1":"a"}`, true},
		{"same", `{"d1":"a"}`, "d1", "a", `{"d1":"a"}`, false},
		{"remove last", `{"d1":"a"}`, "d1", "", "", true},
		{"remove one", `{"d0":"x","d1":"a"}`, "d1", "", `{"d0":"x"}`, true},
		{"remove missing", `{"d0":"x"}`, "d1", "", `{"d0":"x"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &corev1.Node{}
			if tc.before != "" {
				n.Annotations = map[string]string{NodeIDAnnotation: tc.before}
			}
			changed, err := setNodeID(n, tc.driver, tc.id)
			if err != nil || changed != tc.changed || n.Annotations[NodeIDAnnotation] != tc.want {
				t.Errorf("got %q changed=%v err=%v, want %q changed=%v", n.Annotations[NodeIDAnnotation], changed, err, tc.want, tc.changed)
			}
		})
	}
	if _, err := setNodeID(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{NodeIDAnnotation: "{"}}}, "d", "a"); err == nil {
		t.Error("a broken annotation was taken")
	}
}
