package volumebinding

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

// driver is the CSIDriver of example.com/csi, tracking capacity or not.
func driver(tracking bool) *storagev1.CSIDriver {
	return &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "example.com/csi"}, Spec: storagev1.CSIDriverSpec{StorageCapacity: ptr.To(tracking)}}
}

type capOpt func(*storagev1.CSIStorageCapacity)

// published is a CSIStorageCapacity of class for the node with hostname
// host ("" for no topology), with capacity and maximumVolumeSize ("" unset).
func published(name, class, host, capacity, maximum string, opts ...capOpt) *storagev1.CSIStorageCapacity {
	c := &storagev1.CSIStorageCapacity{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"}, StorageClassName: class}
	if host != "" {
		c.NodeTopology = &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelHostname: host}}
	}
	if capacity != "" {
		c.Capacity = ptr.To(resource.MustParse(capacity))
	}
	if maximum != "" {
		c.MaximumVolumeSize = ptr.To(resource.MustParse(maximum))
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// TestEnoughCapacity is the decision table: which published capacity
// lets a 1Gi claim of class "dynamic" be provisioned on a node with
// hostname n1 in zone a.
func TestEnoughCapacity(t *testing.T) {
	dynamic := class("dynamic", "example.com/csi", delayed)
	nodeLabels := map[string]string{corev1.LabelHostname: "n1", corev1.LabelTopologyZone: "a"}
	noRequest := claim("data", "", "dynamic", func(c *corev1.PersistentVolumeClaim) { c.Spec.Resources.Requests = nil })
	zone := func(c *storagev1.CSIStorageCapacity) {
		c.NodeTopology = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: corev1.LabelTopologyZone, Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}},
		}}
	}
	tests := []struct {
		name       string
		claim      *corev1.PersistentVolumeClaim
		driver     *storagev1.CSIDriver
		capacities []*storagev1.CSIStorageCapacity
		want       bool
	}{
		{"no CSIDriver: not checked", claim("data", "", "dynamic", size("1Pi")), nil, nil, true},
		{"driver does not track capacity", claim("data", "", "dynamic", size("1Pi")), driver(false), nil, true},
		{"driver with storageCapacity unset", claim("data", "", "dynamic"), &storagev1.CSIDriver{}, nil, true},
		{"claim without a request", noRequest, driver(true), nil, true},
		{"tracking, nothing published: no room", claim("data", "", "dynamic"), driver(true), nil, false},
		{"room on the node", claim("data", "", "dynamic"), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "n1", "10Gi", "10Gi")}, true},
		{"exactly the request", claim("data", "", "dynamic"), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "n1", "1Gi", "")}, true},
		{"too little on the node", claim("data", "", "dynamic", size("20Gi")), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "n1", "10Gi", "10Gi")}, false},
		{"room on another node only", claim("data", "", "dynamic"), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "n2", "10Gi", "10Gi")}, false},
		{"room for another class only", claim("data", "", "dynamic"), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "other", "n1", "10Gi", "10Gi")}, false},
		{"maximumVolumeSize wins over capacity", claim("data", "", "dynamic", size("5Gi")), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "n1", "10Gi", "4Gi")}, false},
		{"capacity when maximumVolumeSize is unset", claim("data", "", "dynamic", size("5Gi")), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "n1", "10Gi", "")}, true},
		{"neither figure set", claim("data", "", "dynamic"), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "n1", "", "")}, false},
		{"no topology: available nowhere", claim("data", "", "dynamic"), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "", "10Gi", "10Gi")}, false},
		{"a topology that does not parse: available nowhere", claim("data", "", "dynamic"), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "", "10Gi", "", func(c *storagev1.CSIStorageCapacity) {
				c.NodeTopology = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "zone", Operator: "Near"}}}
			})}, false},
		{"a topology selecting the zone", claim("data", "", "dynamic"), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "", "10Gi", "", zone)}, true},
		{"one of several suffices", claim("data", "", "dynamic", size("5Gi")), driver(true),
			[]*storagev1.CSIStorageCapacity{published("c1", "dynamic", "n1", "1Gi", "1Gi"), published("c2", "dynamic", "", "8Gi", "", zone)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := enoughCapacity(tt.claim, dynamic, tt.driver, parseCapacities(tt.capacities), nodeLabels); got != tt.want {
				t.Errorf("enoughCapacity = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFilterCapacity: the nodes a pod with a claim to provision passes,
// and the reason a user reads for the others.
func TestFilterCapacity(t *testing.T) {
	nodes := []*corev1.Node{st.Node("n1"), st.Node("n2")}
	base := []any{class("dynamic", "example.com/csi", delayed), class("static", "kubernetes.io/no-provisioner", delayed)}
	tests := []struct {
		name   string
		objs   []any
		claims []string
		pass   map[string]bool
		reason string // on each node that fails, unless reasons names it
		// reasons: the reason on a node that fails for another
		reasons map[string]string
	}{
		{"no driver: every node", []any{claim("data", "", "dynamic", size("1Pi"))}, []string{"data"}, map[string]bool{"n1": true, "n2": true}, "", nil},
		{"tracking, nothing published", []any{driver(true), claim("data", "", "dynamic")}, []string{"data"}, nil, ErrReasonNotEnoughSpace, nil},
		{"room on n2 only", []any{driver(true), claim("data", "", "dynamic", size("5Gi")),
			published("c1", "dynamic", "n1", "4Gi", "4Gi"), published("c2", "dynamic", "n2", "6Gi", "6Gi")},
			[]string{"data"}, map[string]bool{"n2": true}, ErrReasonNotEnoughSpace, nil},
		{"more than any node", []any{driver(true), claim("data", "", "dynamic", size("1Pi")),
			published("c1", "dynamic", "n1", "4Gi", "4Gi"), published("c2", "dynamic", "n2", "6Gi", "6Gi")},
			[]string{"data"}, nil, ErrReasonNotEnoughSpace, nil},
		{"a claim already handed to n1 is checked there too", []any{driver(true), claim("data", "", "dynamic", size("5Gi"), selectedNode("n1")),
			published("c1", "dynamic", "n1", "4Gi", "4Gi"), published("c2", "dynamic", "n2", "6Gi", "6Gi")},
			[]string{"data"}, nil, ErrReasonNotEnoughSpace, map[string]string{"n2": ErrReasonBindConflict}},
		{"local-path goes by its CSI name", []any{class("local", "kemudi.io/local-path", delayed), claim("data", "", "local"),
			&storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: LocalPathDriver}, Spec: storagev1.CSIDriverSpec{StorageCapacity: ptr.To(true)}},
			published("c1", "local", "n2", "6Gi", "6Gi")},
			[]string{"data"}, map[string]bool{"n2": true}, ErrReasonNotEnoughSpace, nil},
		{"a static volume needs no capacity", []any{driver(true), claim("data", "", "static"), localPV("pv-1", "n1", "static")},
			[]string{"data"}, map[string]bool{"n1": true}, ErrReasonBindConflict, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := New(newFixture(t, append(base, tt.objs...)...).listers())
			for n, s := range st.Filter(pl, st.Pod("p", uses(tt.claims...)), nil, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				want := tt.reason
				if r, ok := tt.reasons[n]; ok {
					want = r
				}
				if !s.IsSuccess() && s.Message() != want {
					t.Errorf("%s: reason %q, want %q", n, s.Message(), want)
				}
			}
		})
	}
}
