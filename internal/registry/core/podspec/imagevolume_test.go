package podspec

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// withImageVolume is the valid spec with an image volume "tools" that
// the web container mounts at /tools.
func withImageVolume(src *corev1.ImageVolumeSource, mount corev1.VolumeMount) func(s *corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.Volumes = append(s.Volumes, corev1.Volume{Name: "tools", VolumeSource: corev1.VolumeSource{Image: src}})
		mount.Name, mount.MountPath = "tools", "/tools"
		s.Containers[0].VolumeMounts = append(s.Containers[0].VolumeMounts, mount)
	}
}

// Image volumes as upstream validates them (ImageVolume is GA in 1.37):
// a reference, a pull policy of the three, any mount but one with
// bindMountOptions; read-write mounts are accepted (the kubelet mounts
// them read-only) and sub paths allowed. A volume found invalid is left
// out, so its mounts are also NotFound, as upstream reports them.
func TestImageVolumeValidation(t *testing.T) {
	ref := "registry.local:5000/tools:1"
	cases := []struct {
		name   string
		mutate func(s *corev1.PodSpec)
		want   []wantErr
	}{
		{"valid", withImageVolume(&corev1.ImageVolumeSource{Reference: ref}, corev1.VolumeMount{}), nil},
		{"read-only with a sub path", withImageVolume(&corev1.ImageVolumeSource{Reference: ref, PullPolicy: corev1.PullNever},
			corev1.VolumeMount{ReadOnly: true, SubPath: "bin"}), nil},
		{"sub path expression", withImageVolume(&corev1.ImageVolumeSource{Reference: ref}, corev1.VolumeMount{SubPathExpr: "$(MODE)"}), nil},
		{"recursive read-only", withImageVolume(&corev1.ImageVolumeSource{Reference: ref},
			corev1.VolumeMount{ReadOnly: true, RecursiveReadOnly: ptr(corev1.RecursiveReadOnlyIfPossible)}), nil},
		{"no reference", withImageVolume(&corev1.ImageVolumeSource{}, corev1.VolumeMount{}),
			[]wantErr{{field.ErrorTypeRequired, "spec.volumes[3].image.reference"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[2].name"}}},
		{"bad pull policy", withImageVolume(&corev1.ImageVolumeSource{Reference: ref, PullPolicy: "Sometimes"}, corev1.VolumeMount{}),
			[]wantErr{{field.ErrorTypeNotSupported, "spec.volumes[3].image.pullPolicy"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[2].name"}}},
		{"sub path leaving the volume", withImageVolume(&corev1.ImageVolumeSource{Reference: ref}, corev1.VolumeMount{SubPath: "../etc"}),
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].volumeMounts.subPath"}}},
		{"bindMountOptions", withImageVolume(&corev1.ImageVolumeSource{Reference: ref},
			corev1.VolumeMount{BindMountOptions: []string{string(corev1.BindMountOptionNoExec)}}),
			[]wantErr{{field.ErrorTypeInvalid, "spec.containers[0].volumeMounts[2].bindMountOptions"}}},
		{"two volume types", func(s *corev1.PodSpec) {
			withImageVolume(&corev1.ImageVolumeSource{Reference: ref}, corev1.VolumeMount{})(s)
			s.Volumes[3].EmptyDir = &corev1.EmptyDirVolumeSource{}
		}, []wantErr{{field.ErrorTypeForbidden, "spec.volumes[3].image"}, {field.ErrorTypeNotFound, "spec.containers[0].volumeMounts[2].name"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := defaulted(tc.mutate)
			assertErrors(t, ValidatePodSpecWithOptions(&s, field.NewPath("spec"), Options{IsPod: true, PodName: "web-0"}), tc.want)
		})
	}
}

// The pull policy defaults as a container's: Always for latest or no
// tag, IfNotPresent otherwise.
func TestImageVolumeDefaults(t *testing.T) {
	for ref, want := range map[string]corev1.PullPolicy{
		"registry.local:5000/tools:1":      corev1.PullIfNotPresent,
		"registry.local:5000/tools":        corev1.PullAlways,
		"registry.local:5000/tools:latest": corev1.PullAlways,
		"registry.local:5000/tools@sha256:" + "0123456789012345678901234567890123456789012345678901234567890123": corev1.PullIfNotPresent,
	} {
		s := defaulted(withImageVolume(&corev1.ImageVolumeSource{Reference: ref}, corev1.VolumeMount{}))
		if got := s.Volumes[3].Image.PullPolicy; got != want {
			t.Errorf("%s: pullPolicy %q, want %q", ref, got, want)
		}
	}
}
