package csinode

import (
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	driver := func() storagev1.CSINodeDriver {
		return storagev1.CSINodeDriver{Name: "hostpath.csi.k8s.io", NodeID: "node-1", TopologyKeys: []string{"topology.hostpath.csi/node"}}
	}
	neg := int32(-1)
	cases := []struct {
		name    string
		drivers func() []storagev1.CSINodeDriver
		fields  []string
	}{
		{"valid", func() []storagev1.CSINodeDriver { return []storagev1.CSINodeDriver{driver()} }, nil},
		{"no drivers", func() []storagev1.CSINodeDriver { return nil }, nil},
		{"bad name", func() []storagev1.CSINodeDriver { d := driver(); d.Name = "-bad"; return []storagev1.CSINodeDriver{d} }, []string{"spec.drivers[0].name"}},
		{"no node ID", func() []storagev1.CSINodeDriver { d := driver(); d.NodeID = ""; return []storagev1.CSINodeDriver{d} }, []string{"spec.drivers[0].nodeID"}},
		{"long node ID", func() []storagev1.CSINodeDriver {
			d := driver()
			d.NodeID = strings.Repeat("n", 193)
			return []storagev1.CSINodeDriver{d}
		}, []string{"spec.drivers[0].nodeID"}},
		{"negative count", func() []storagev1.CSINodeDriver {
			d := driver()
			d.Allocatable = &storagev1.VolumeNodeResources{Count: &neg}
			return []storagev1.CSINodeDriver{d}
		}, []string{"spec.drivers[0].allocatable.count"}},
		{"driver twice", func() []storagev1.CSINodeDriver { return []storagev1.CSINodeDriver{driver(), driver()} }, []string{"spec.drivers[1].name"}},
		{"topology key twice", func() []storagev1.CSINodeDriver {
			d := driver()
			d.TopologyKeys = append(d.TopologyKeys, d.TopologyKeys[0])
			return []storagev1.CSINodeDriver{d}
		}, []string{"spec.drivers[0]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: storagev1.CSINodeSpec{Drivers: tc.drivers()}}
			errs := Validate(n)
			if len(errs) != len(tc.fields) {
				t.Fatalf("errors %v, want fields %v", errs, tc.fields)
			}
			for i, e := range errs {
				if e.Field != tc.fields[i] {
					t.Errorf("error %d on %s, want %s", i, e.Field, tc.fields[i])
				}
			}
		})
	}
}

func TestValidateUpdateKeepsNodeID(t *testing.T) {
	old := &storagev1.CSINode{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}, Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "a.csi", NodeID: "n1"}}}}
	n := old.DeepCopy()
	n.Spec.Drivers[0].NodeID = "n2"
	if errs := ValidateUpdate(n, old); len(errs) != 1 || errs[0].Field != "spec.drivers[0].nodeID" {
		t.Fatalf("errors %v, want one on nodeID", errs)
	}
	n = old.DeepCopy()
	n.Spec.Drivers = append(n.Spec.Drivers, storagev1.CSINodeDriver{Name: "b.csi", NodeID: "n1"})
	if errs := ValidateUpdate(n, old); len(errs) != 0 {
		t.Fatalf("adding a driver refused: %v", errs)
	}
}
