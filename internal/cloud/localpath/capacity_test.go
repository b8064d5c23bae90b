package localpath

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPlanCapacity: what a node's publisher creates, updates and
// deletes, given what it published before.
func TestPlanCapacity(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "uid-1", Labels: map[string]string{HostnameLabel: "host-1"}}}
	free := FreeQuantity(10 << 30)
	pub := func(name, class string, bytes int64, mutate ...func(*storagev1.CSIStorageCapacity)) *storagev1.CSIStorageCapacity {
		c := NewCapacity(class, node, *resource.NewQuantity(bytes, resource.BinarySI))
		c.Name = name
		for _, m := range mutate {
			m(c)
		}
		return c
	}
	otherHost := func(c *storagev1.CSIStorageCapacity) { c.NodeTopology.MatchLabels[HostnameLabel] = "host-2" }
	oldNode := func(c *storagev1.CSIStorageCapacity) { c.OwnerReferences[0].UID = "uid-0" }
	noMaximum := func(c *storagev1.CSIStorageCapacity) { c.MaximumVolumeSize = nil }
	tests := []struct {
		name                   string
		classes                []string
		published              []*storagev1.CSIStorageCapacity
		create, update, delete []string
	}{
		{"nothing yet", []string{"local-path", "local-retain"}, nil, []string{"local-path", "local-retain"}, nil, nil},
		{"up to date", []string{"local-path"}, []*storagev1.CSIStorageCapacity{pub("a", "local-path", 10<<30)}, nil, nil, nil},
		{"the disk filled", []string{"local-path"}, []*storagev1.CSIStorageCapacity{pub("a", "local-path", 20<<30)}, nil, []string{"a"}, nil},
		{"maximum missing", []string{"local-path"}, []*storagev1.CSIStorageCapacity{pub("a", "local-path", 10<<30, noMaximum)}, nil, []string{"a"}, nil},
		{"class gone", nil, []*storagev1.CSIStorageCapacity{pub("a", "local-path", 10<<30)}, nil, nil, []string{"a"}},
		{"a duplicate", []string{"local-path"}, []*storagev1.CSIStorageCapacity{pub("a", "local-path", 10<<30), pub("b", "local-path", 10<<30)}, nil, nil, []string{"b"}},
		{"another node's topology", []string{"local-path"}, []*storagev1.CSIStorageCapacity{pub("a", "local-path", 10<<30, otherHost)},
			[]string{"local-path"}, nil, []string{"a"}},
		{"owned by the node's earlier self", []string{"local-path"}, []*storagev1.CSIStorageCapacity{pub("a", "local-path", 10<<30, oldNode)},
			[]string{"local-path"}, nil, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := PlanCapacity(tt.classes, node, free, tt.published)
			if !slices.Equal(plan.Create, tt.create) || !slices.Equal(names(plan.Update), tt.update) || !slices.Equal(names(plan.Delete), tt.delete) {
				t.Errorf("create %v update %v delete %v; want %v %v %v", plan.Create, names(plan.Update), names(plan.Delete), tt.create, tt.update, tt.delete)
			}
			for _, u := range plan.Update {
				if u.Capacity.Cmp(free) != 0 || u.MaximumVolumeSize.Cmp(free) != 0 {
					t.Errorf("update %s to %v/%v, want %s", u.Name, u.Capacity, u.MaximumVolumeSize, free.String())
				}
			}
		})
	}
}

// TestNewCapacity: the object a node publishes for a class.
func TestNewCapacity(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "uid-1", Labels: map[string]string{HostnameLabel: "host-1"}}}
	c := NewCapacity("local-path", node, FreeQuantity(5<<30))
	switch {
	case c.Namespace != "kube-system" || c.GenerateName != "csisc-":
		t.Errorf("namespace %q generateName %q", c.Namespace, c.GenerateName)
	case c.StorageClassName != "local-path" || c.NodeTopology.MatchLabels[HostnameLabel] != "host-1" || len(c.NodeTopology.MatchLabels) != 1:
		t.Errorf("class %q topology %v", c.StorageClassName, c.NodeTopology)
	case c.Capacity.String() != "5Gi" || c.MaximumVolumeSize.String() != "5Gi":
		t.Errorf("figures %s %s", c.Capacity, c.MaximumVolumeSize)
	case len(c.OwnerReferences) != 1 || c.OwnerReferences[0].Kind != "Node" || c.OwnerReferences[0].UID != "uid-1":
		t.Errorf("owners %v", c.OwnerReferences)
	case c.Labels[LabelManagedBy] != ManagedBy || c.Labels[HostnameLabel] != "host-1":
		t.Errorf("labels %v", c.Labels)
	}
	if got := FreeQuantity(1 << 63); got.Value() <= 0 {
		t.Errorf("huge free space %s", got.String())
	}
}

func names(cs []*storagev1.CSIStorageCapacity) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
