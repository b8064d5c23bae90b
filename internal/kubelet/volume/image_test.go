package volume

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// An image volume is set up without touching the host: the runtime
// mounts the image, read-only whatever the container's mount says.
func TestSetUpImageVolume(t *testing.T) {
	root := t.TempDir()
	m := New(root, fake.NewClientset(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	src := &corev1.ImageVolumeSource{Reference: "registry.example/tools:1", PullPolicy: corev1.PullIfNotPresent}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-image"},
		Spec: corev1.PodSpec{
			Volumes:    []corev1.Volume{{Name: "tools", VolumeSource: corev1.VolumeSource{Image: src}}},
			Containers: []corev1.Container{{Name: "c", VolumeMounts: []corev1.VolumeMount{{Name: "tools", MountPath: "/tools"}}}},
		},
	}
	got, err := m.SetUp(context.Background(), pod, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Mounted{Image: src, ReadOnly: true}); got["tools"] != want {
		t.Errorf("tools = %+v, want %+v", got["tools"], want)
	}
	if ents, _ := os.ReadDir(m.PodDir(pod.UID)); len(ents) != 0 {
		t.Errorf("the pod directory has %d entries, want none", len(ents))
	}
	if err := m.TearDown(pod.UID); err != nil {
		t.Errorf("TearDown: %v", err)
	}
}
