package kubelet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

// TestImageVolumes mounts an image from a registry that wants
// credentials as a volume: pulled with the pod's pull secret by the
// volume's policy, read-only whatever the mount says, whole and by a
// sub path. An image volume that cannot be pulled keeps its container
// waiting with upstream's ErrImagePull/ImagePullBackOff. Only on kemudi's
// runtime: the containerd here (1.6) has no image volumes (2.1 has).
func TestImageVolumes(t *testing.T) {
	n := startNode(t, "kemudi")
	ctx := context.Background()
	private := n.rt.NewRegistry(t, testimages.BasicAuth("puller", "s3cret"))
	if _, err := private.Push("tools:1", n.rt.Busybox); err != nil {
		t.Fatal(err)
	}
	tools := private.Ref("tools:1")
	auth, _ := json.Marshal(map[string]any{"auths": map[string]any{private.Host: map[string]string{"username": "puller", "password": "s3cret"}}})
	if _, err := n.c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: auth}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	img := n.rt.Images["busybox"]
	withVolume := func(name, ref string, policy corev1.PullPolicy, script string) *corev1.Pod {
		p := pod(name, corev1.RestartPolicyNever, img, script)
		p.Spec.NodeName = n.name
		p.Spec.Volumes = []corev1.Volume{{Name: "tools", VolumeSource: corev1.VolumeSource{
			Image: &corev1.ImageVolumeSource{Reference: ref, PullPolicy: policy}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
			{Name: "tools", MountPath: "/tools"},
			{Name: "tools", MountPath: "/bins", SubPath: "bin", ReadOnly: true},
		}
		return p
	}
	reader := withVolume("reader", tools, corev1.PullIfNotPresent,
		`test -x /tools/bin/busybox && test -L /bins/sh && ! touch /tools/x 2>/dev/null && echo read-only > /dev/termination-log`)
	reader.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "creds"}}
	// Always pulls, and without the secret the registry refuses.
	noCreds := withVolume("nocreds", tools, corev1.PullAlways, "true")
	missing := withVolume("missing", n.rt.Registry.Ref("nope:1"), corev1.PullIfNotPresent, "true")
	for _, p := range []*corev1.Pod{reader, noCreds, missing} {
		if _, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	until(t, "reader reads the image and cannot write it", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "reader", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Terminated == nil {
			return false, fmt.Errorf("status %+v", p.Status.ContainerStatuses)
		}
		term := p.Status.ContainerStatuses[0].State.Terminated
		if term.ExitCode != 0 || strings.TrimSpace(term.Message) != "read-only" {
			t.Fatalf("reader ended %d %q, want 0 read-only", term.ExitCode, term.Message)
		}
		return true, nil
	})
	evs, err := n.events(ctx, "default", "reader")
	if err != nil {
		t.Fatal(err)
	}
	for reason, want := range map[string]string{"Pulling": `Pulling image "` + tools + `"`, "Pulled": `Successfully pulled image "` + tools + `"`} {
		if !strings.Contains(evs[reason], want) {
			t.Errorf("%s events %q lack %q", reason, evs[reason], want)
		}
	}

	for _, tc := range []struct{ pod, ref, says string }{
		{"nocreds", tools, "401"},
		{"missing", n.rt.Registry.Ref("nope:1"), "nope"},
	} {
		until(t, tc.pod+" waits on its image volume", timeout, func(ctx context.Context) (bool, error) {
			p, err := n.c.CoreV1().Pods("default").Get(ctx, tc.pod, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
				return false, fmt.Errorf("status %+v", p.Status.ContainerStatuses)
			}
			w := p.Status.ContainerStatuses[0].State.Waiting
			if (w.Reason != "ErrImagePull" && w.Reason != "ImagePullBackOff") || !strings.Contains(w.Message, tc.says) {
				return false, fmt.Errorf("waiting %s: %s", w.Reason, w.Message)
			}
			return true, nil
		})
		evs, err := n.events(ctx, "default", tc.pod)
		if err != nil {
			t.Fatal(err)
		}
		if want := `Failed to pull image "` + tc.ref + `"`; !strings.Contains(evs["Failed"], want) {
			t.Errorf("%s: Failed events %q lack %q", tc.pod, evs["Failed"], want)
		}
	}
}
