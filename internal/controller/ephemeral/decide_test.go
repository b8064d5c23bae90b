package ephemeral

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

func ephemeralVolume(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
		VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"type": "scratch"}, Annotations: map[string]string{"note": "x"}},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To("fast"),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		},
	}}}
}

func testPod(vols ...corev1.Volume) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "pod-uid"}, Spec: corev1.PodSpec{Volumes: vols}}
}

func ownedBy(uid types.UID, controller bool) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Pod", Name: "web", UID: uid, Controller: ptr.To(controller),
	}}}}
}

func TestDecide(t *testing.T) {
	configMap := corev1.Volume{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}
	tests := []struct {
		name         string
		pod          *corev1.Pod
		existing     map[string]*corev1.PersistentVolumeClaim
		wantCreate   []string
		wantConflict string
	}{
		{name: "no ephemeral volumes", pod: testPod(configMap)},
		{name: "a claim to create", pod: testPod(configMap, ephemeralVolume("scratch")), wantCreate: []string{"web-scratch"}},
		{name: "two", pod: testPod(ephemeralVolume("a"), ephemeralVolume("b")), wantCreate: []string{"web-a", "web-b"}},
		{name: "already the pod's", pod: testPod(ephemeralVolume("scratch")),
			existing: map[string]*corev1.PersistentVolumeClaim{"web-scratch": ownedBy("pod-uid", true)}},
		{name: "someone else's", pod: testPod(ephemeralVolume("scratch")),
			existing: map[string]*corev1.PersistentVolumeClaim{"web-scratch": {ObjectMeta: metav1.ObjectMeta{Namespace: "default"}}}, wantConflict: "scratch"},
		{name: "an earlier pod's of the same name", pod: testPod(ephemeralVolume("scratch")),
			existing: map[string]*corev1.PersistentVolumeClaim{"web-scratch": ownedBy("old-uid", true)}, wantConflict: "scratch"},
		{name: "owned but not controlled", pod: testPod(ephemeralVolume("scratch")),
			existing: map[string]*corev1.PersistentVolumeClaim{"web-scratch": ownedBy("pod-uid", false)}, wantConflict: "scratch"},
		{name: "volumes before the conflict are created, not after", pod: testPod(ephemeralVolume("a"), ephemeralVolume("b"), ephemeralVolume("c")),
			existing: map[string]*corev1.PersistentVolumeClaim{"web-b": {ObjectMeta: metav1.ObjectMeta{Namespace: "default"}}}, wantCreate: []string{"web-a"}, wantConflict: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := decide(tt.pod, func(name string) *corev1.PersistentVolumeClaim { return tt.existing[name] })
			var created []string
			for _, n := range a.create {
				created = append(created, n.claim.Name)
			}
			if !reflect.DeepEqual(created, tt.wantCreate) {
				t.Errorf("create %v, want %v", created, tt.wantCreate)
			}
			got := ""
			if a.conflict != nil {
				got = a.conflict.volume
			}
			if got != tt.wantConflict {
				t.Errorf("conflict %q, want %q", got, tt.wantConflict)
			}
		})
	}
}

func TestClaimFor(t *testing.T) {
	vol := ephemeralVolume("scratch")
	pod := testPod(vol)
	c := claimFor(pod, &pod.Spec.Volumes[0])
	if c.Name != "web-scratch" || c.Namespace != "default" {
		t.Errorf("claim %s/%s", c.Namespace, c.Name)
	}
	if !reflect.DeepEqual(c.Labels, map[string]string{"type": "scratch"}) || !reflect.DeepEqual(c.Annotations, map[string]string{"note": "x"}) {
		t.Errorf("labels %v annotations %v", c.Labels, c.Annotations)
	}
	if !reflect.DeepEqual(c.Spec, vol.Ephemeral.VolumeClaimTemplate.Spec) {
		t.Errorf("spec %+v", c.Spec)
	}
	if !metav1.IsControlledBy(c, pod) || !*c.OwnerReferences[0].BlockOwnerDeletion {
		t.Errorf("owners %+v", c.OwnerReferences)
	}
	// The claim is a copy: changing it leaves the pod (the cache's) alone.
	c.Labels["type"] = "changed"
	if pod.Spec.Volumes[0].Ephemeral.VolumeClaimTemplate.Labels["type"] != "scratch" {
		t.Error("claimFor shares the template's maps")
	}
	if got := claimsOf(testPod(vol, ephemeralVolume("b"))); !reflect.DeepEqual(got, []string{"default/web-scratch", "default/web-b"}) {
		t.Errorf("claimsOf = %v", got)
	}
}
