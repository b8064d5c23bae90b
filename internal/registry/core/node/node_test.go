package node

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// kubeletNode is a node as a kubelet registers it.
func kubeletNode() *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: metav1.NewTime(time.Now().Add(-2 * time.Hour)),
			Labels: map[string]string{"kubernetes.io/hostname": "node-1", "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": ""}},
		Spec: corev1.NodeSpec{PodCIDR: "10.42.0.0/24", ProviderID: "kemudi://node-1",
			Taints: []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Capacity:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.11"}, {Type: corev1.NodeHostName, Address: "node-1"}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2+kemudi0.1.0", OSImage: "Debian GNU/Linux 13", KernelVersion: "6.12.0",
				Architecture: "amd64", ContainerRuntimeVersion: "kemudi://0.1.0"},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	Default(n)
	return n
}

type wantErr struct {
	typ  field.ErrorType
	path string
}

func assertErrors(t *testing.T, errs field.ErrorList, want ...wantErr) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if errs[i].Type != w.typ || errs[i].Field != w.path {
			t.Errorf("error %d = %s at %s, want %s at %s", i, errs[i].Type, errs[i].Field, w.typ, w.path)
		}
	}
}

func TestDefault(t *testing.T) {
	n := kubeletNode()
	if len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != "10.42.0.0/24" {
		t.Errorf("podCIDRs = %v", n.Spec.PodCIDRs)
	}
	if n.Status.Allocatable.Cpu().String() != "2" || n.Status.Allocatable.Pods().String() != "110" {
		t.Errorf("allocatable = %v", n.Status.Allocatable)
	}
	m := &corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.42.1.0/24", "fd00::/64"}}}
	Default(m)
	if m.Spec.PodCIDR != "10.42.1.0/24" {
		t.Errorf("podCIDR = %q", m.Spec.PodCIDR)
	}
	errs := Validate(m)
	assertErrors(t, errs)
}

func TestValidate(t *testing.T) {
	assertErrors(t, Validate(kubeletNode()))
	cases := []struct {
		name   string
		mutate func(n *corev1.Node)
		want   []wantErr
	}{
		{"bad CIDR", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.42.0.0/33"} },
			[]wantErr{{field.ErrorTypeInvalid, "spec.podCIDRs[0]"}}},
		{"two IPv4 CIDRs", func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.42.0.0/24", "10.43.0.0/24"} },
			[]wantErr{{field.ErrorTypeInvalid, "spec.podCIDRs"}}},
		{"taint without effect", func(n *corev1.Node) { n.Spec.Taints[0].Effect = "" },
			[]wantErr{{field.ErrorTypeRequired, "metadata.taints[0].effect"}}},
		{"taint with bad effect", func(n *corev1.Node) { n.Spec.Taints[0].Effect = "NoRun" },
			[]wantErr{{field.ErrorTypeNotSupported, "metadata.taints[0].effect"}}},
		{"taint with bad key", func(n *corev1.Node) { n.Spec.Taints[0].Key = "bad key" },
			[]wantErr{{field.ErrorTypeInvalid, "metadata.taints[0].key"}}},
		{"duplicate taint", func(n *corev1.Node) {
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Value: "x", Effect: corev1.TaintEffectNoSchedule})
		}, []wantErr{{field.ErrorTypeDuplicate, "metadata.taints[1]"}}},
		{"same key, other effect", func(n *corev1.Node) {
			n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoExecute})
		}, nil},
		{"negative capacity", func(n *corev1.Node) { n.Status.Capacity[corev1.ResourceCPU] = resource.MustParse("-1") },
			[]wantErr{{field.ErrorTypeInvalid, "status.capacity.cpu"}}},
		{"fractional pods", func(n *corev1.Node) { n.Status.Allocatable[corev1.ResourcePods] = resource.MustParse("1500m") },
			[]wantErr{{field.ErrorTypeInvalid, "status.allocatable.pods"}}},
		{"taints annotation", func(n *corev1.Node) { n.Annotations = map[string]string{corev1.TaintsAnnotationKey: "{"} },
			[]wantErr{{field.ErrorTypeInvalid, "metadata.annotations"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := kubeletNode()
			tc.mutate(n)
			assertErrors(t, Validate(n), tc.want...)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	cases := []struct {
		name   string
		old    func(n *corev1.Node)
		mutate func(n *corev1.Node)
		want   []wantErr
	}{
		{"cordon", nil, func(n *corev1.Node) { n.Spec.Unschedulable = true }, nil},
		{"assign a CIDR", func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "", nil },
			func(n *corev1.Node) {}, nil},
		{"change the CIDR", nil, func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.42.9.0/24", []string{"10.42.9.0/24"} },
			[]wantErr{{field.ErrorTypeForbidden, "spec.podCIDRs"}}},
		{"set providerID", func(n *corev1.Node) { n.Spec.ProviderID = "" }, func(n *corev1.Node) {}, nil},
		{"change providerID", nil, func(n *corev1.Node) { n.Spec.ProviderID = "aws://x" },
			[]wantErr{{field.ErrorTypeInvalid, "spec.providerID"}}},
		{"clear providerID", nil, func(n *corev1.Node) { n.Spec.ProviderID = "" },
			[]wantErr{{field.ErrorTypeInvalid, "spec.providerID"}}},
		{"duplicate address", nil, func(n *corev1.Node) { n.Status.Addresses = append(n.Status.Addresses, n.Status.Addresses[0]) },
			[]wantErr{{field.ErrorTypeDuplicate, "status.addresses[2]"}}},
		{"external ID", nil, func(n *corev1.Node) { n.Spec.DoNotUseExternalID = "x" },
			[]wantErr{{field.ErrorTypeForbidden, "spec.externalID"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := kubeletNode()
			if tc.old != nil {
				tc.old(old)
			}
			n := kubeletNode()
			tc.mutate(n)
			assertErrors(t, ValidateUpdate(n, old), tc.want...)
		})
	}
}

func TestTable(t *testing.T) {
	tbl := table()
	if len(tbl.Columns) != 10 || tbl.Columns[5].Priority != 1 || tbl.Columns[4].Priority != 0 {
		t.Fatalf("columns = %+v", tbl.Columns)
	}
	n := kubeletNode()
	cells, _ := tbl.Row(n)
	want := []interface{}{"node-1", "Ready", "control-plane,master", "120m", "v1.37.2+kemudi0.1.0",
		"10.0.0.11", "<none>", "Debian GNU/Linux 13", "6.12.0 (amd64)", "kemudi://0.1.0"}
	for i := range want {
		if cells[i] != want[i] {
			t.Errorf("cell %d (%s) = %v, want %v", i, tbl.Columns[i].Name, cells[i], want[i])
		}
	}

	n.Spec.Unschedulable = true
	n.Status.Conditions[0].Status = corev1.ConditionUnknown
	if s := Status(n); s != "NotReady,SchedulingDisabled" {
		t.Errorf("STATUS = %q", s)
	}
	bare := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"kubernetes.io/role": "worker"}}}
	cells, _ = tbl.Row(bare)
	if cells[1] != "Unknown" || cells[2] != "worker" || cells[7] != "<unknown>" || cells[8] != "<unknown>" {
		t.Errorf("bare node row = %v", cells)
	}
	bare.Labels = nil
	if cells, _ = tbl.Row(bare); cells[2] != "<none>" {
		t.Errorf("ROLES = %v", cells[2])
	}
}

func TestSelectableFieldsAndPrepare(t *testing.T) {
	n := kubeletNode()
	if f := SelectableFields(n); f["spec.unschedulable"] != "false" {
		t.Errorf("fields = %v", f)
	}
	n.Spec.ConfigSource = &corev1.NodeConfigSource{ConfigMap: &corev1.ConfigMapNodeConfigSource{Name: "x"}}
	PrepareForCreate(n)
	if n.Spec.ConfigSource != nil {
		t.Errorf("configSource kept on create")
	}
	if w := Warnings(&corev1.Node{Spec: corev1.NodeSpec{DoNotUseExternalID: "x"}}); len(w) != 1 {
		t.Errorf("warnings = %q", w)
	}
}
