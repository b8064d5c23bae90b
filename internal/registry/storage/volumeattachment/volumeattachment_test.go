package volumeattachment

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func attachment() *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: "csi-123"},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "hostpath.csi.k8s.io",
			NodeName: "node-1",
			Source:   storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")},
		},
	}
}

func inline() *corev1.PersistentVolumeSpec {
	return &corev1.PersistentVolumeSpec{
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "hostpath.csi.k8s.io", VolumeHandle: "h"}},
	}
}

// TestValidate: upstream's field errors for each mistake.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*storagev1.VolumeAttachment)
		fields []string
	}{
		{"valid", func(*storagev1.VolumeAttachment) {}, nil},
		{"inline csi", func(va *storagev1.VolumeAttachment) {
			va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: inline()}
		}, nil},
		{"no attacher", func(va *storagev1.VolumeAttachment) { va.Spec.Attacher = "" }, []string{"spec.attacher"}},
		{"no node", func(va *storagev1.VolumeAttachment) { va.Spec.NodeName = "" }, []string{"spec.nodeName"}},
		{"bad node", func(va *storagev1.VolumeAttachment) { va.Spec.NodeName = "Node_1" }, []string{"spec.nodeName"}},
		{"no source", func(va *storagev1.VolumeAttachment) { va.Spec.Source = storagev1.VolumeAttachmentSource{} }, []string{"spec.source"}},
		{"two sources", func(va *storagev1.VolumeAttachment) { va.Spec.Source.InlineVolumeSpec = inline() }, []string{"spec.source"}},
		{"empty volume name", func(va *storagev1.VolumeAttachment) { va.Spec.Source.PersistentVolumeName = ptr.To("") }, []string{"spec.source.persistentVolumeName"}},
		{"inline not csi", func(va *storagev1.VolumeAttachment) {
			s := inline()
			s.CSI, s.HostPath = nil, &corev1.HostPathVolumeSource{Path: "/x"}
			va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: s}
		}, []string{"spec.source.inlineVolumeSpec.csi"}},
		{"inline with claim", func(va *storagev1.VolumeAttachment) {
			s := inline()
			s.ClaimRef = &corev1.ObjectReference{Name: "c"}
			va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: s}
		}, []string{"spec.source.inlineVolumeSpec.claimRef"}},
		{"negative error code", func(va *storagev1.VolumeAttachment) {
			va.Status.AttachError = &storagev1.VolumeError{ErrorCode: ptr.To[int32](-1)}
		}, []string{"status.attachError.errorCode"}},
	}
	for _, tt := range tests {
		va := attachment()
		tt.mod(va)
		errs := Validate(va)
		if len(errs) != len(tt.fields) {
			t.Errorf("%s: %v, want errors on %v", tt.name, errs, tt.fields)
			continue
		}
		for i, e := range errs {
			if e.Field != tt.fields[i] {
				t.Errorf("%s: error on %s, want %s", tt.name, e.Field, tt.fields[i])
			}
		}
	}
}

func TestValidateUpdateKeepsSpec(t *testing.T) {
	old := attachment()
	va := old.DeepCopy()
	va.Spec.NodeName = "node-2"
	if errs := ValidateUpdate(va, old); len(errs) != 1 || errs[0].Field != "spec" {
		t.Errorf("moving an attachment: %v, want one error on spec", errs)
	}
	va = old.DeepCopy()
	va.Status.Attached = true
	if errs := ValidateUpdate(va, old); len(errs) != 0 {
		t.Errorf("status change refused: %v", errs)
	}
}
