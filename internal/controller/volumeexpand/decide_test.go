package volumeexpand

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func claim(req, have string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default", UID: "claim-uid"},
		Spec:       corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(req)}}},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound},
	}
	if have != "" {
		c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(have)}
	}
	return c
}

func volume(ns string, uid types.UID, annotations map[string]string) *corev1.PersistentVolume {
	v := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv", Annotations: annotations}}
	if uid != "" {
		v.Spec.ClaimRef = &corev1.ObjectReference{Namespace: ns, Name: "data", UID: uid}
	}
	return v
}

func TestWantsGrowth(t *testing.T) {
	resizing := map[string]string{annPreResizeCapacity: "1Gi"}
	tests := []struct {
		name    string
		pvc     *corev1.PersistentVolumeClaim
		pv      *corev1.PersistentVolume
		want    bool
		wantErr bool
	}{
		{"asks more than it has", claim("2Gi", "1Gi"), volume("default", "claim-uid", nil), true, false},
		{"has what it asks", claim("1Gi", "1Gi"), volume("default", "claim-uid", nil), false, false},
		{"has more than it asks", claim("1Gi", "2Gi"), volume("default", "claim-uid", nil), false, false},
		{"no capacity yet", claim("1Gi", ""), volume("default", "claim-uid", nil), true, false},
		{"the volume is still being expanded", claim("1Gi", "1Gi"), volume("default", "claim-uid", resizing), true, false},
		{"the volume is unbound", claim("2Gi", "1Gi"), volume("", "", nil), false, true},
		{"the volume is another claim's", claim("2Gi", "1Gi"), volume("default", "other", nil), false, true},
		{"the volume is another namespace's", claim("2Gi", "1Gi"), volume("elsewhere", "claim-uid", nil), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wantsGrowth(tt.pvc, tt.pv)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestGrew(t *testing.T) {
	tests := []struct {
		name     string
		old, cur *corev1.PersistentVolumeClaim
		want     bool
	}{
		{"request up", claim("1Gi", "1Gi"), claim("2Gi", "1Gi"), true},
		{"capacity up", claim("2Gi", "1Gi"), claim("2Gi", "2Gi"), true},
		{"request down", claim("2Gi", "1Gi"), claim("1500Mi", "1Gi"), false},
		{"nothing", claim("1Gi", "1Gi"), claim("1Gi", "1Gi"), false},
	}
	for _, tt := range tests {
		if got := grew(tt.old, tt.cur); got != tt.want {
			t.Errorf("%s: %v", tt.name, got)
		}
	}
}
