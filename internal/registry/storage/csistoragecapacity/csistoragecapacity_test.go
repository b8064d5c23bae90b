package csistoragecapacity

import (
	"slices"
	"testing"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func capacity() *storagev1.CSIStorageCapacity {
	return &storagev1.CSIStorageCapacity{
		ObjectMeta:        metav1.ObjectMeta{Name: "csisc-abcde", Namespace: "kube-system"},
		StorageClassName:  "local-path",
		NodeTopology:      &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/hostname": "node-1"}},
		Capacity:          ptr.To(resource.MustParse("10Gi")),
		MaximumVolumeSize: ptr.To(resource.MustParse("10Gi")),
	}
}

// TestValidate: upstream's field errors for each mistake.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*storagev1.CSIStorageCapacity)
		fields []string
	}{
		{"valid", func(*storagev1.CSIStorageCapacity) {}, nil},
		{"no topology", func(c *storagev1.CSIStorageCapacity) { c.NodeTopology = nil }, nil},
		{"no figures", func(c *storagev1.CSIStorageCapacity) { c.Capacity, c.MaximumVolumeSize = nil, nil }, nil},
		{"zero capacity", func(c *storagev1.CSIStorageCapacity) { c.Capacity = ptr.To(resource.MustParse("0")) }, nil},
		// Upstream checks capacity only.
		{"negative maximum", func(c *storagev1.CSIStorageCapacity) { c.MaximumVolumeSize = ptr.To(resource.MustParse("-1")) }, nil},
		{"no class", func(c *storagev1.CSIStorageCapacity) { c.StorageClassName = "" }, []string{"storageClassName"}},
		{"bad class", func(c *storagev1.CSIStorageCapacity) { c.StorageClassName = "Local_Path" }, []string{"storageClassName"}},
		{"negative capacity", func(c *storagev1.CSIStorageCapacity) { c.Capacity = ptr.To(resource.MustParse("-1Gi")) }, []string{"capacity"}},
		{"bad label key", func(c *storagev1.CSIStorageCapacity) { c.NodeTopology.MatchLabels = map[string]string{"-bad": "x"} }, []string{"nodeTopology.matchLabels"}},
		{"bad label value", func(c *storagev1.CSIStorageCapacity) {
			c.NodeTopology.MatchLabels = map[string]string{"k": "not a value"}
		}, []string{"nodeTopology.matchLabels"}},
		{"bad expression value", func(c *storagev1.CSIStorageCapacity) {
			c.NodeTopology.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "k", Operator: metav1.LabelSelectorOpIn, Values: []string{"not a value"}}}
		}, []string{"nodeTopology.matchExpressions[0].values[0]"}},
		{"bad operator", func(c *storagev1.CSIStorageCapacity) {
			c.NodeTopology.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Near", Values: []string{"v"}}}
		}, []string{"nodeTopology.matchExpressions[0].operator"}},
		{"In without values", func(c *storagev1.CSIStorageCapacity) {
			c.NodeTopology.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "k", Operator: metav1.LabelSelectorOpIn}}
		}, []string{"nodeTopology.matchExpressions[0].values"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := capacity()
			tt.mod(c)
			if got := fieldsOf(Validate(c, false)); !slices.Equal(got, tt.fields) {
				t.Errorf("errors on %v, want %v", got, tt.fields)
			}
		})
	}
}

// TestValidateUpdate: the figures change, the topology and the class
// do not; a selector value stored before it was refused may stay.
func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name     string
		old, mod func(*storagev1.CSIStorageCapacity)
		fields   []string
	}{
		{"new figures", nil, func(c *storagev1.CSIStorageCapacity) { c.Capacity = ptr.To(resource.MustParse("1Gi")) }, nil},
		{"other node", nil, func(c *storagev1.CSIStorageCapacity) { c.NodeTopology.MatchLabels["kubernetes.io/hostname"] = "node-2" }, []string{"nodeTopology"}},
		{"topology dropped", nil, func(c *storagev1.CSIStorageCapacity) { c.NodeTopology = nil }, []string{"nodeTopology"}},
		{"other class", nil, func(c *storagev1.CSIStorageCapacity) { c.StorageClassName = "fast" }, []string{"storageClassName"}},
		{"negative capacity", nil, func(c *storagev1.CSIStorageCapacity) { c.Capacity = ptr.To(resource.MustParse("-1")) }, []string{"capacity"}},
		{"invalid value kept", func(c *storagev1.CSIStorageCapacity) {
			c.NodeTopology.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "k", Operator: metav1.LabelSelectorOpIn, Values: []string{"not a value"}}}
		},
			func(c *storagev1.CSIStorageCapacity) { c.Capacity = ptr.To(resource.MustParse("1Gi")) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := capacity()
			if tt.old != nil {
				tt.old(old)
			}
			c := old.DeepCopy()
			tt.mod(c)
			if got := fieldsOf(ValidateUpdate(c, old)); !slices.Equal(got, tt.fields) {
				t.Errorf("errors on %v, want %v", got, tt.fields)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	c := capacity()
	c.NodeTopology.MatchLabels["failure-domain.beta.kubernetes.io/zone"] = "a"
	c.NodeTopology.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "beta.kubernetes.io/os", Operator: metav1.LabelSelectorOpExists}}
	want := []string{
		`nodeTopology.matchExpressions[0].key: beta.kubernetes.io/os is deprecated since v1.14; use "kubernetes.io/os" instead`,
		`nodeTopology.matchLabels.failure-domain.beta.kubernetes.io/zone: deprecated since v1.17; use "topology.kubernetes.io/zone" instead`,
	}
	if got := Warnings(c); !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
}

// TestTable: NAME CREATED AT, as upstream's default table.
func TestTable(t *testing.T) {
	table := Resource().Table
	var names []string
	for _, c := range table.Columns {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Created At"}; !slices.Equal(names, want) {
		t.Errorf("columns %v, want %v", names, want)
	}
	c := capacity()
	c.CreationTimestamp = metav1.NewTime(time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC))
	row, err := table.Row(c)
	if err != nil || len(row) != 2 || row[0] != "csisc-abcde" || row[1] != "2026-12-07T05:00:00Z" {
		t.Errorf("row %v, %v; want [csisc-abcde 2026-12-07T05:00:00Z]", row, err)
	}
}

func fieldsOf(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}
