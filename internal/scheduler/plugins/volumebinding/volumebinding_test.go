package volumebinding

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

// fixture holds the listers' stores, so that a test can play the
// informers.
type fixture struct {
	claims, volumes, classes, nodes, drivers, capacities cache.Indexer
}

func newFixture(t *testing.T, objs ...any) *fixture {
	t.Helper()
	f := &fixture{
		claims:     cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
		volumes:    cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		classes:    cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		nodes:      cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		drivers:    cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}),
		capacities: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
	}
	for _, o := range objs {
		f.put(t, o)
	}
	return f
}

// put adds or replaces an object.
func (f *fixture) put(t *testing.T, o any) {
	t.Helper()
	var err error
	switch o.(type) {
	case *corev1.PersistentVolumeClaim:
		err = f.claims.Update(o)
	case *corev1.PersistentVolume:
		err = f.volumes.Update(o)
	case *storagev1.StorageClass:
		err = f.classes.Update(o)
	case *corev1.Node:
		err = f.nodes.Update(o)
	case *storagev1.CSIDriver:
		err = f.drivers.Update(o)
	case *storagev1.CSIStorageCapacity:
		err = f.capacities.Update(o)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) listers() Listers {
	return Listers{
		Claims:     corelisters.NewPersistentVolumeClaimLister(f.claims),
		Volumes:    corelisters.NewPersistentVolumeLister(f.volumes),
		Classes:    storagelisters.NewStorageClassLister(f.classes),
		Nodes:      corelisters.NewNodeLister(f.nodes),
		CSIDrivers: storagelisters.NewCSIDriverLister(f.drivers),
		Capacities: storagelisters.NewCSIStorageCapacityLister(f.capacities),
	}
}

type claimOpt func(*corev1.PersistentVolumeClaim)

// claim is a claim for 1Gi, ReadWriteOnce; bound (bind completed) when
// volume is set.
func claim(name, volume, class string, opts ...claimOpt) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "1"}}
	c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	c.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	c.Spec.VolumeName = volume
	if volume != "" {
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, volumehelpers.AnnBindCompleted, "yes")
	}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func size(q string) claimOpt {
	return func(c *corev1.PersistentVolumeClaim) {
		c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(q)
	}
}

func selectedNode(n string) claimOpt {
	return func(c *corev1.PersistentVolumeClaim) {
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, volumehelpers.AnnSelectedNode, n)
	}
}

func notBindCompleted(c *corev1.PersistentVolumeClaim) {
	delete(c.Annotations, volumehelpers.AnnBindCompleted)
}
func lost(c *corev1.PersistentVolumeClaim) { c.Status.Phase = corev1.ClaimLost }
func deleting(c *corev1.PersistentVolumeClaim) {
	now := metav1.Now()
	c.DeletionTimestamp = &now
}

// localPV is an available 1Gi ReadWriteOnce volume of class on one
// node, as local volumes are.
func localPV(name, node, class string, opts ...func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName: class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:         corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}},
				}}},
			}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
	for _, o := range opts {
		o(pv)
	}
	return pv
}

func capacity(q string) func(*corev1.PersistentVolume) {
	return func(pv *corev1.PersistentVolume) {
		pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse(q)
	}
}

func readOnlyMany(pv *corev1.PersistentVolume) {
	pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadOnlyMany}
}

func class(name, provisioner string, mode storagev1.VolumeBindingMode, zones ...string) *storagev1.StorageClass {
	c := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
	if len(zones) > 0 {
		c.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
			{Key: corev1.LabelTopologyZone, Values: zones},
		}}}
	}
	return c
}

func uses(claims ...string) st.PodOpt {
	return func(p *corev1.Pod) {
		for _, c := range claims {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c},
			}})
		}
	}
}

func ephemeralVolume(name string) st.PodOpt {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
			Ephemeral: &corev1.EphemeralVolumeSource{},
		}})
	}
}

const (
	delayed   = storagev1.VolumeBindingWaitForFirstConsumer
	immediate = storagev1.VolumeBindingImmediate
)

// TestFilter: which nodes pass for a pod's claims, and the reasons a
// user reads for those that do not.
func TestFilter(t *testing.T) {
	classes := []any{
		class("static", volumehelpers.NotSupportedProvisioner, delayed),
		class("dynamic", "example.com/csi", delayed),
		class("zonal", "example.com/csi", delayed, "a"),
		class("now", "example.com/csi", immediate),
	}
	nodes := []*corev1.Node{st.Node("n1", st.Zone("a")), st.Node("n2", st.Zone("b"))}
	both := map[string]bool{"n1": true, "n2": true}
	tests := []struct {
		name   string
		objs   []any
		pod    *corev1.Pod
		pass   map[string]bool
		reason string
	}{
		{"no claims", nil, st.Pod("p"), both, ""},
		{"a claim bound to a local volume pins the pod",
			[]any{claim("data", "pv-data", ""), localPV("pv-data", "n2", "")},
			st.Pod("p", uses("data")), map[string]bool{"n2": true}, ErrReasonNodeConflict},
		{"a missing claim", nil, st.Pod("p", uses("nope")), nil, `persistentvolumeclaim "nope" not found`},
		{"a missing ephemeral claim", nil, st.Pod("p", ephemeralVolume("scratch")), nil,
			`waiting for ephemeral volume controller to create the persistentvolumeclaim "p-scratch"`},
		{"a claim being deleted", []any{claim("data", "", "", deleting)}, st.Pod("p", uses("data")), nil,
			`persistentvolumeclaim "data" is being deleted`},
		{"a lost claim", []any{claim("data", "pv-gone", "", lost)}, st.Pod("p", uses("data")), nil,
			`persistentvolumeclaim "data" bound to non-existent persistentvolume "pv-gone"`},
		{"an unbound claim without class", []any{claim("data", "", "")}, st.Pod("p", uses("data")), nil, ErrReasonUnboundImmediate},
		{"an unbound immediate claim", []any{claim("data", "", "now")}, st.Pod("p", uses("data")), nil, ErrReasonUnboundImmediate},
		{"a claim whose binding the controller has not finished",
			[]any{claim("data", "pv-data", "", notBindCompleted), localPV("pv-data", "n1", "")},
			st.Pod("p", uses("data")), nil, ErrReasonUnboundImmediate},
		{"a claim bound to a missing volume", []any{claim("data", "pv-gone", "")}, st.Pod("p", uses("data")), nil, ErrReasonPVNotExist},
		{"a delayed claim goes where an available volume is",
			[]any{claim("data", "", "static"), localPV("pv-1", "n1", "static")},
			st.Pod("p", uses("data")), map[string]bool{"n1": true}, ErrReasonBindConflict},
		{"a volume too small does not count",
			[]any{claim("data", "", "static", size("2Gi")), localPV("pv-1", "n1", "static")},
			st.Pod("p", uses("data")), nil, ErrReasonBindConflict},
		{"a volume of other access modes does not count",
			[]any{claim("data", "", "static"), localPV("pv-1", "n1", "static", readOnlyMany)},
			st.Pod("p", uses("data")), nil, ErrReasonBindConflict},
		{"a volume of another class does not count",
			[]any{claim("data", "", "static"), localPV("pv-1", "n1", "dynamic")},
			st.Pod("p", uses("data")), nil, ErrReasonBindConflict},
		{"a volume bound to another claim does not count",
			[]any{claim("data", "", "static"), localPV("pv-1", "n1", "static", func(pv *corev1.PersistentVolume) {
				pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "other", UID: "uid-other"}
			})},
			st.Pod("p", uses("data")), nil, ErrReasonBindConflict},
		{"two claims do not share one volume",
			[]any{claim("a", "", "static"), claim("b", "", "static"), localPV("pv-1", "n1", "static")},
			st.Pod("p", uses("a", "b")), nil, ErrReasonBindConflict},
		{"two claims, two volumes on one node",
			[]any{claim("a", "", "static"), claim("b", "", "static"), localPV("pv-1", "n1", "static"), localPV("pv-2", "n1", "static"), localPV("pv-3", "n2", "static")},
			st.Pod("p", uses("a", "b")), map[string]bool{"n1": true}, ErrReasonBindConflict},
		{"a small claim leaves the big volume to the big claim",
			[]any{claim("big", "", "static", size("5Gi")), claim("small", "", "static"),
				localPV("pv-big", "n1", "static", capacity("5Gi")), localPV("pv-small", "n1", "static")},
			st.Pod("p", uses("big", "small")), map[string]bool{"n1": true}, ErrReasonBindConflict},
		{"a provisioner may make a volume anywhere", []any{claim("data", "", "dynamic")},
			st.Pod("p", uses("data")), both, ""},
		{"a provisioner's allowed topologies", []any{claim("data", "", "zonal")},
			st.Pod("p", uses("data")), map[string]bool{"n1": true}, ErrReasonBindConflict},
		{"a claim handed to a provisioner for a node goes there",
			[]any{claim("data", "", "dynamic", selectedNode("n2"))},
			st.Pod("p", uses("data")), map[string]bool{"n2": true}, ErrReasonBindConflict},
		{"no volume and no provisioner", []any{claim("data", "", "static")},
			st.Pod("p", uses("data")), nil, ErrReasonBindConflict},
		{"a bound claim and a delayed one: both reasons",
			[]any{claim("data", "pv-data", ""), localPV("pv-data", "n2", ""), claim("later", "", "static"), localPV("pv-1", "n1", "static")},
			st.Pod("p", uses("data", "later")), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := New(newFixture(t, append(classes, tt.objs...)...).listers())
			for n, s := range st.Filter(pl, tt.pod, nil, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && tt.reason != "" && s.Message() != tt.reason {
					t.Errorf("%s: reason %q, want %q", n, s.Message(), tt.reason)
				}
			}
		})
	}
}

// TestBothReasons: a node that fails the bound volume and the delayed
// claim names both, in upstream's order.
func TestBothReasons(t *testing.T) {
	f := newFixture(t, class("static", volumehelpers.NotSupportedProvisioner, delayed),
		claim("data", "pv-data", ""), localPV("pv-data", "n2", ""), claim("later", "", "static"), localPV("pv-1", "n2", "static"))
	got := st.Filter(New(f.listers()), st.Pod("p", uses("data", "later")), nil, []*corev1.Node{st.Node("n1")})["n1"]
	if want := ErrReasonNodeConflict + ", " + ErrReasonBindConflict; got.Message() != want {
		t.Errorf("reasons %q, want %q", got.Message(), want)
	}
}

// cycle runs PreFilter, Filter and Reserve for pod on node, as a
// scheduling cycle does, and returns the state and Filter's verdict.
func cycle(t *testing.T, pl *Plugin, pod *corev1.Pod, node *corev1.Node) (*framework.CycleState, *framework.Status) {
	t.Helper()
	snap := framework.NewSnapshotFromObjects(nil, []*corev1.Node{node})
	state := framework.NewCycleState()
	pi := framework.NewPodInfo(pod)
	if _, s := pl.PreFilter(t.Context(), state, pi, snap); !s.IsSuccess() {
		return state, s
	}
	if s := pl.Filter(state, pi, snap.Get(node.Name)); !s.IsSuccess() {
		return state, s
	}
	if s := pl.Reserve(t.Context(), state, pi, node.Name); !s.IsSuccess() {
		t.Fatalf("reserve: %v", s)
	}
	return state, nil
}

// TestReserveTakesTheVolume: once a pod reserved a volume, the next
// pod's cycle does not find it, until the first pod lets go.
func TestReserveTakesTheVolume(t *testing.T) {
	f := newFixture(t, class("static", volumehelpers.NotSupportedProvisioner, delayed),
		claim("a", "", "static"), claim("b", "", "static"), localPV("pv-1", "n1", "static"))
	pl := New(f.listers())
	n1 := st.Node("n1")
	first := st.Pod("first", uses("a"))
	state, s := cycle(t, pl, first, n1)
	if !s.IsSuccess() {
		t.Fatalf("first pod: %v", s)
	}
	if _, s := cycle(t, pl, st.Pod("second", uses("b")), n1); s.Message() != ErrReasonBindConflict {
		t.Fatalf("second pod while the volume is reserved: %v", s)
	}
	// A pod sharing the first pod's claim finds the same volume.
	if _, s := cycle(t, pl, st.Pod("sharing", uses("a")), n1); !s.IsSuccess() {
		t.Fatalf("pod sharing the claim: %v", s)
	}
	pl.Unreserve(t.Context(), state, framework.NewPodInfo(first), "n1")
	if _, s := cycle(t, pl, st.Pod("second", uses("b")), n1); !s.IsSuccess() {
		t.Fatalf("second pod after unreserve: %v", s)
	}
}

// TestReserveSelectsNode: a claim reserved for provisioning on a node
// keeps a second pod using it on that node.
func TestReserveSelectsNode(t *testing.T) {
	f := newFixture(t, class("dynamic", "example.com/csi", delayed), claim("data", "", "dynamic"))
	pl := New(f.listers())
	if _, s := cycle(t, pl, st.Pod("first", uses("data")), st.Node("n1")); !s.IsSuccess() {
		t.Fatal(s)
	}
	_, s := cycle(t, pl, st.Pod("second", uses("data")), st.Node("n2"))
	if s.Message() != ErrReasonBindConflict {
		t.Errorf("second pod on another node: %v", s)
	}
	if !strings.Contains(s.String(), "Unschedulable") {
		t.Errorf("code: %v", s)
	}
}
