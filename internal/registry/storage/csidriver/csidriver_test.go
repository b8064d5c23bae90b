package csidriver

import (
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// driver is a driver as a user writes it, defaulted as the server does.
func driver() *storagev1.CSIDriver {
	d := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "disk.csi.example.com"}}
	Default(d)
	return d
}

func TestDefault(t *testing.T) {
	d := driver()
	s := d.Spec
	if !*s.AttachRequired || *s.PodInfoOnMount || *s.StorageCapacity || *s.RequiresRepublish || *s.SELinuxMount || *s.PreventPodSchedulingIfMissing {
		t.Errorf("boolean defaults: %+v", s)
	}
	if *s.FSGroupPolicy != storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy {
		t.Errorf("fsGroupPolicy %v", *s.FSGroupPolicy)
	}
	if len(s.VolumeLifecycleModes) != 1 || s.VolumeLifecycleModes[0] != storagev1.VolumeLifecyclePersistent {
		t.Errorf("modes %v", s.VolumeLifecycleModes)
	}
	d = &storagev1.CSIDriver{Spec: storagev1.CSIDriverSpec{AttachRequired: ptr.To(false), VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral}}}
	Default(d)
	if *d.Spec.AttachRequired || d.Spec.VolumeLifecycleModes[0] != storagev1.VolumeLifecycleEphemeral {
		t.Error("defaulting overwrote set values")
	}
}

func TestValidate(t *testing.T) {
	bad := storagev1.FSGroupPolicy("Always")
	tests := []struct {
		name   string
		mod    func(*storagev1.CSIDriver)
		fields []string
	}{
		{"valid", func(*storagev1.CSIDriver) {}, nil},
		{"null attachRequired", func(d *storagev1.CSIDriver) { d.Spec.AttachRequired = nil }, []string{"spec.attachedRequired"}},
		{"null podInfoOnMount", func(d *storagev1.CSIDriver) { d.Spec.PodInfoOnMount = nil }, []string{"spec.podInfoOnMount"}},
		{"bad fsGroupPolicy", func(d *storagev1.CSIDriver) { d.Spec.FSGroupPolicy = &bad }, []string{"spec.fsGroupPolicy"}},
		{"bad mode", func(d *storagev1.CSIDriver) {
			d.Spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{"Forever"}
		}, []string{"spec.volumeLifecycleModes"}},
		{"tokens", func(d *storagev1.CSIDriver) {
			d.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "a"}, {Audience: "", ExpirationSeconds: ptr.To[int64](600)}}
		}, nil},
		{"duplicate audience", func(d *storagev1.CSIDriver) {
			d.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "a"}, {Audience: "a"}}
		}, []string{"spec.tokenRequests[1].audience"}},
		{"short token", func(d *storagev1.CSIDriver) {
			d.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "a", ExpirationSeconds: ptr.To[int64](599)}}
		}, []string{"spec.tokenRequests[0].expirationSeconds"}},
		{"long token", func(d *storagev1.CSIDriver) {
			d.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "a", ExpirationSeconds: ptr.To[int64](1<<32 + 1)}}
		}, []string{"spec.tokenRequests[0].expirationSeconds"}},
		{"tokens in secrets without tokens", func(d *storagev1.CSIDriver) { d.Spec.ServiceAccountTokenInSecrets = ptr.To(true) }, []string{"spec.serviceAccountTokenInSecrets"}},
		{"short update period", func(d *storagev1.CSIDriver) { d.Spec.NodeAllocatableUpdatePeriodSeconds = ptr.To[int64](9) }, []string{"spec.nodeAllocatableUpdatePeriodSeconds"}},
	}
	for _, tt := range tests {
		d := driver()
		tt.mod(d)
		errs := Validate(d)
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

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*storagev1.CSIDriver)
		fields []string
	}{
		{"podInfoOnMount may change", func(d *storagev1.CSIDriver) { d.Spec.PodInfoOnMount = ptr.To(true) }, nil},
		{"storageCapacity may change", func(d *storagev1.CSIDriver) { d.Spec.StorageCapacity = ptr.To(true) }, nil},
		{"attachRequired may not", func(d *storagev1.CSIDriver) { d.Spec.AttachRequired = ptr.To(false) }, []string{"spec.attachedRequired"}},
		{"modes may not", func(d *storagev1.CSIDriver) {
			d.Spec.VolumeLifecycleModes = append(d.Spec.VolumeLifecycleModes, storagev1.VolumeLifecycleEphemeral)
		}, []string{"spec.volumeLifecycleModes"}},
	}
	for _, tt := range tests {
		old := driver()
		d := old.DeepCopy()
		tt.mod(d)
		errs := ValidateUpdate(d, old)
		if len(errs) != len(tt.fields) || (len(errs) == 1 && errs[0].Field != tt.fields[0]) {
			t.Errorf("%s: %v, want errors on %v", tt.name, errs, tt.fields)
		}
	}
}

func TestWarnings(t *testing.T) {
	d := driver()
	d.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "vault"}}
	if w := Warnings(d, nil); len(w) != 1 || !strings.Contains(w[0], "serviceAccountTokenInSecrets") {
		t.Errorf("create with tokens: %v", w)
	}
	if w := Warnings(d, d.DeepCopy()); len(w) != 0 {
		t.Errorf("update leaving tokens: %v", w)
	}
	d.Spec.ServiceAccountTokenInSecrets = ptr.To(true)
	if w := Warnings(d, nil); len(w) != 0 {
		t.Errorf("tokens in secrets: %v", w)
	}
}
