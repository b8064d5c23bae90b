package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestLocalVolume runs pods on a local persistent volume on kemudi's
// runtime: a pod whose claim is not bound yet waits in
// ContainerCreating with upstream's FailedMount, then, once the PV
// controller binds it, writes as user 1000 through fsGroup 2000 (into
// a subPath too); a second pod mounting the claim readOnly reads the
// file and cannot write; the data outlives both pods.
func TestLocalVolume(t *testing.T) {
	n := startNode(t, "kemudi")
	ctx := context.Background()
	img := n.rt.Images["busybox"]
	data := filepath.Join(n.rt.Dir, "local-pv")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	until(t, "default service account", timeout, func(ctx context.Context) (bool, error) {
		_, err := n.c.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})

	// The claim names a volume that does not exist yet: Pending.
	claim, err := n.c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To(""), VolumeName: "local-data",
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writer := volumePod(n, "writer", img, false,
		"id -G | tr ' ' '\\n' | grep -qx 2000 && echo hello > /data/file && echo sub > /sub/file && ls -ln /data/file | awk '{print $3, $4}'")
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, writer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, n, "writer", "FailedMount",
		"Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[data]: error processing PVC default/data: PVC is not bound")
	until(t, "writer ContainerCreating", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "writer", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cs := p.Status.ContainerStatuses
		if p.Status.Phase != corev1.PodPending || len(cs) != 1 || cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != "ContainerCreating" {
			return false, fmt.Errorf("%s", describe([]corev1.Pod{*p}))
		}
		return true, nil
	})

	if _, err := n.c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "local-data"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "",
			ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data", UID: claim.UID},
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: data}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{n.name}}}}}}},
		}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitDone(t, n, "writer")
	if got := terminated(p); got.ExitCode != 0 || strings.TrimSpace(got.Message) != "1000 2000" {
		t.Fatalf("writer: exit %d, message %q; want 0 and the file owned by 1000:2000", got.ExitCode, got.Message)
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode()&os.ModeSetgid == 0 || fi.Sys().(*syscall.Stat_t).Gid != 2000 {
		t.Errorf("volume root after fsGroup 2000: %v %v, want group 2000 and setgid", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(data, "logs", "writer", "file")); err != nil || string(b) != "sub\n" {
		t.Errorf("subPathExpr file on the volume: %q %v", b, err)
	}

	reader := volumePod(n, "reader", img, true,
		"cat /data/file; if echo x > /data/other; then echo WROTE; fi; cat /sub/file")
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p = waitDone(t, n, "reader")
	log := strings.Join(strings.Fields(terminated(p).Message), " ")
	if !strings.Contains(log, "hello") || !strings.Contains(log, "Read-only file system") || strings.Contains(log, "WROTE") {
		t.Errorf("reader's log %q: want the file read and the write refused as read-only", log)
	}
	if _, err := os.Stat(filepath.Join(data, "other")); !os.IsNotExist(err) {
		t.Errorf("the read-only pod wrote to the volume: %v", err)
	}

	for _, name := range []string{"writer", "reader"} {
		if err := n.c.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []*corev1.Pod{writer, reader} {
		until(t, p.Name+" gone", timeout, func(ctx context.Context) (bool, error) {
			got, err := n.c.CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			if err == nil {
				_, err = os.Stat(filepath.Join(n.rt.Dir, "kubelet", "pods", string(got.UID)))
				err = fmt.Errorf("still there (pod dir: %v)", err)
			}
			return false, err
		})
	}
	if b, err := os.ReadFile(filepath.Join(data, "file")); err != nil || string(b) != "hello\n" {
		t.Errorf("the volume's data after its pods were deleted: %q %v", b, err)
	}
}

// volumePod mounts the claim "data" at /data and its subPathExpr
// logs/<pod name> at /sub, as user 1000 with fsGroup 2000; its log is
// its termination message.
func volumePod(n *node, name, img string, readOnly bool, script string) *corev1.Pod {
	p := pod(name, corev1.RestartPolicyNever, img, script)
	p.Spec.NodeName = n.name // bound directly: the pod may come before its claim is bound
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000)}
	c := &p.Spec.Containers[0]
	c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	c.Command = []string{"sh", "-c", "(" + script + ") > /dev/termination-log 2>&1"}
	c.Env = []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "data", MountPath: "/sub", SubPathExpr: "logs/writer"}}
	if name == "writer" {
		c.VolumeMounts[1].SubPathExpr = "logs/$(POD)"
	}
	p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data", ReadOnly: readOnly}}}}
	return p
}

func waitDone(t *testing.T, n *node, name string) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	until(t, name+" done", timeout, func(ctx context.Context) (bool, error) {
		var err error
		if p, err = n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			evs, _ := n.events(ctx, "default", name)
			return false, fmt.Errorf("%s, events %v", describe([]corev1.Pod{*p}), evs)
		}
		return true, nil
	})
	return p
}

func terminated(p *corev1.Pod) corev1.ContainerStateTerminated {
	if len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Terminated != nil {
		return *p.Status.ContainerStatuses[0].State.Terminated
	}
	return corev1.ContainerStateTerminated{ExitCode: -1}
}
