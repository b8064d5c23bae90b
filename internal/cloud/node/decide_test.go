package node

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cloudprovider "k8s.io/cloud-provider"
	cloudapi "k8s.io/cloud-provider/api"
)

func withReady(status corev1.ConditionStatus, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		Spec:   corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status}}},
	}
}

func TestDecide(t *testing.T) {
	for _, tc := range []struct {
		name             string
		node             *corev1.Node
		exists, shutdown bool
		want             action
	}{
		{"ready node: nothing", withReady(corev1.ConditionTrue), true, false, keep},
		{"ready node still tainted shut down: taint off", withReady(corev1.ConditionTrue, ShutdownTaint), true, false, removeShutdownTaint},
		{"not ready, instance gone: deleted", withReady(corev1.ConditionUnknown), false, false, deleteNode},
		{"not ready, shut down: tainted", withReady(corev1.ConditionFalse), true, true, addShutdownTaint},
		{"not ready, shut down, already tainted: nothing", withReady(corev1.ConditionFalse, ShutdownTaint), true, true, keep},
		{"not ready, running again: taint off", withReady(corev1.ConditionFalse, ShutdownTaint), true, false, removeShutdownTaint},
		{"not ready, running: nothing (the node lifecycle controller's)", withReady(corev1.ConditionUnknown), true, false, keep},
		{"no Ready condition yet, instance gone: deleted", &corev1.Node{}, false, false, deleteNode},
	} {
		if got := decide(tc.node, tc.exists, tc.shutdown); got != tc.want {
			t.Errorf("%s: decide = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestInitialized(t *testing.T) {
	uninit := corev1.Taint{Key: cloudapi.TaintExternalCloudProvider, Value: "true", Effect: corev1.TaintEffectNoSchedule}
	other := corev1.Taint{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}
	md := &cloudprovider.InstanceMetadata{
		ProviderID: "fake://n1", InstanceType: "m5.large", Zone: "zone-b", Region: "region-1",
		NodeAddresses:    []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.5"}},
		AdditionalLabels: map[string]string{"example.com/rack": "r1"},
	}
	hostname := corev1.NodeAddress{Type: corev1.NodeHostName, Address: "n1"}
	for _, tc := range []struct {
		name       string
		node       *corev1.Node
		providerID string
		labels     map[string]string
		taints     []corev1.Taint
		addresses  []corev1.NodeAddress
	}{
		{
			name: "tainted: the provider's labels win, the taint goes, other taints stay",
			node: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{corev1.LabelTopologyZone: "mine", "app": "x"}},
				Spec:       corev1.NodeSpec{Taints: []corev1.Taint{uninit, other}},
				Status:     corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0.9"}, hostname}},
			},
			providerID: "fake://n1",
			labels: map[string]string{
				"app": "x", corev1.LabelTopologyZone: "zone-b", labelBetaZone: "zone-b", corev1.LabelTopologyRegion: "region-1", labelBetaRegion: "region-1",
				corev1.LabelInstanceTypeStable: "m5.large", labelBetaInstanceType: "m5.large", "example.com/rack": "r1",
			},
			taints:    []corev1.Taint{other},
			addresses: append(append([]corev1.NodeAddress(nil), md.NodeAddresses...), hostname),
		},
		{
			name: "adopted: its own labels win",
			node: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{corev1.LabelTopologyZone: "mine"}},
			},
			providerID: "fake://n1",
			labels: map[string]string{
				corev1.LabelTopologyZone: "mine", labelBetaZone: "zone-b", corev1.LabelTopologyRegion: "region-1", labelBetaRegion: "region-1",
				corev1.LabelInstanceTypeStable: "m5.large", labelBetaInstanceType: "m5.large", "example.com/rack": "r1",
			},
			addresses: md.NodeAddresses,
		},
		{
			name: "a providerID set is kept; the kubelet's chosen IP filters the addresses",
			node: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{cloudapi.AnnotationAlphaProvidedIPAddr: "10.0.0.5"}},
				Spec:       corev1.NodeSpec{ProviderID: "fake://old", Taints: []corev1.Taint{uninit}},
			},
			providerID: "fake://old",
			labels: map[string]string{
				corev1.LabelTopologyZone: "zone-b", labelBetaZone: "zone-b", corev1.LabelTopologyRegion: "region-1", labelBetaRegion: "region-1",
				corev1.LabelInstanceTypeStable: "m5.large", labelBetaInstanceType: "m5.large", "example.com/rack": "r1",
			},
			addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.node.DeepCopy()
			got := initialized(tc.node, md)
			if !apiequality.Semantic.DeepEqual(tc.node, before) {
				t.Error("the node given was changed")
			}
			if got.Spec.ProviderID != tc.providerID {
				t.Errorf("providerID = %q, want %q", got.Spec.ProviderID, tc.providerID)
			}
			if !apiequality.Semantic.DeepEqual(got.Labels, tc.labels) {
				t.Errorf("labels = %v, want %v", got.Labels, tc.labels)
			}
			if !apiequality.Semantic.DeepEqual(got.Spec.Taints, tc.taints) {
				t.Errorf("taints = %v, want %v", got.Spec.Taints, tc.taints)
			}
			if !apiequality.Semantic.DeepEqual(got.Status.Addresses, tc.addresses) {
				t.Errorf("addresses = %v, want %v", got.Status.Addresses, tc.addresses)
			}
			if needsInit(got) {
				t.Error("the initialized node still needs initializing")
			}
		})
	}
}
