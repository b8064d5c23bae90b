package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/kubelet"
)

// TestUserNamespaces runs pods with spec.hostUsers false. On kemudi's
// runtime each is root in a user namespace of its own, mapped to a block
// of 65536 host IDs no other pod has; its image's files, its volumes and
// what it writes are its root's. containerd here reports no user
// namespace support, so the kubelet refuses such a pod as upstream's
// does and says why in an event.
func TestUserNamespaces(t *testing.T) {
	for _, rt := range runtimes {
		t.Run(rt, func(t *testing.T) { testUserNamespaces(t, startNode(t, rt)) })
	}
}

func testUserNamespaces(t *testing.T, n *node) {
	ctx := context.Background()
	if _, err := n.c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"greeting": "hello"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "default service account", timeout, func(ctx context.Context) (bool, error) {
		_, err := n.c.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	script := `echo "$(awk '{print $1, $2, $3}' /proc/self/uid_map)|$(id -u)|$(stat -c %u /etc/passwd)|$(touch /etc/written && echo rootfs-writable)|` +
		`$(cat /cfg/greeting)|$(echo hi > /scratch/f && stat -c %u /scratch/f)|$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)" > /dev/termination-log`
	names := []string{"userns-a", "userns-b"}
	for _, name := range names {
		p := pod(name, corev1.RestartPolicyNever, n.rt.Images["busybox"], script)
		p.Spec.HostUsers = ptr.To(false)
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}, {Name: "scratch", MountPath: "/scratch"}}
		p.Spec.Volumes = []corev1.Volume{
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}
		if _, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	if n.rt.Name != "kemudi" {
		for _, name := range names {
			waitEvent(t, n, name, "FailedCreatePodSandBox", "can't set `spec.hostUsers: false`, runtime does not support user namespaces")
			if p, err := n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{}); err != nil || p.Status.Phase != corev1.PodPending {
				t.Errorf("%s on a runtime without user namespaces: %v %v, want Pending", name, p.Status.Phase, err)
			}
		}
		return
	}
	blocks := map[string]bool{}
	for _, name := range names {
		var msg string
		until(t, name+" succeeded", timeout, func(ctx context.Context) (bool, error) {
			p, err := n.c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if p.Status.Phase == corev1.PodFailed {
				return false, fmt.Errorf("failed: %s", describe([]corev1.Pod{*p}))
			}
			if p.Status.Phase != corev1.PodSucceeded {
				return false, fmt.Errorf("%s", describe([]corev1.Pod{*p}))
			}
			msg = strings.TrimSpace(p.Status.ContainerStatuses[0].State.Terminated.Message)
			return true, nil
		})
		f := strings.Split(msg, "|")
		if len(f) != 7 {
			t.Fatalf("%s said %q", name, msg)
		}
		m := strings.Fields(f[0])
		host, err := strconv.Atoi(m[1])
		if len(m) != 3 || m[0] != "0" || m[2] != "65536" || err != nil || host < 65536 || host%65536 != 0 {
			t.Errorf("%s: uid_map %q, want 0 mapped to a block of 65536 host IDs above the host's own", name, f[0])
		}
		if blocks[m[1]] {
			t.Errorf("%s: host IDs from %s, which another pod has", name, m[1])
		}
		blocks[m[1]] = true
		if want := []string{"0", "0", "rootfs-writable", "hello", "0", "default"}; strings.Join(f[1:], "|") != strings.Join(want, "|") {
			t.Errorf("%s: id, /etc/passwd's owner, rootfs, configMap, emptyDir file's owner, token = %q, want %q", name, f[1:], want)
		}
	}
}

// TestUserNamespacesImageVolume: on a kubelet with --userns-ids-per-pod
// 131072, a pod with spec.hostUsers false is root over a block of 131072
// host IDs from a multiple of 131072; the image it mounts as a volume is
// readable there, its files root's (0:0, not nobody's 65534), and
// read-only. The pod's removal leaves no mount behind. Only on kemudi's
// runtime (containerd here has neither user namespaces nor image volumes).
func TestUserNamespacesImageVolume(t *testing.T) {
	n := startNodeWith(t, "kemudi", func(o *kubelet.Options) { o.UsernsIDsPerPod = 131072 })
	ctx := context.Background()
	until(t, "default service account", timeout, func(ctx context.Context) (bool, error) {
		_, err := n.c.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	img := n.rt.Images["busybox"]
	script := `echo "$(awk '{print $1, $2, $3}' /proc/self/uid_map)|$(awk '{print $1, $2, $3}' /proc/self/gid_map)|` +
		`$(stat -c %u:%g /tools /tools/bin /tools/bin/busybox | xargs)|$(cmp /tools/bin/busybox /bin/busybox && echo readable)|` +
		`$(touch /tools/new 2>&1)|$(awk '$2 == "/tools" {print substr($4, 1, 3)}' /proc/mounts)" > /dev/termination-log`
	p := pod("userns-image", corev1.RestartPolicyNever, img, script)
	p.Spec.HostUsers = ptr.To(false)
	p.Spec.Volumes = []corev1.Volume{{Name: "tools", VolumeSource: corev1.VolumeSource{
		Image: &corev1.ImageVolumeSource{Reference: img, PullPolicy: corev1.PullIfNotPresent}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "tools", MountPath: "/tools"}}
	if _, err := n.c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var msg string
	until(t, "userns-image succeeded", timeout, func(ctx context.Context) (bool, error) {
		p, err := n.c.CoreV1().Pods("default").Get(ctx, "userns-image", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Status.Phase == corev1.PodFailed {
			t.Fatalf("failed: %s", describe([]corev1.Pod{*p}))
		}
		if p.Status.Phase != corev1.PodSucceeded {
			return false, fmt.Errorf("%s", describe([]corev1.Pod{*p}))
		}
		msg = strings.TrimSpace(p.Status.ContainerStatuses[0].State.Terminated.Message)
		return true, nil
	})
	f := strings.Split(msg, "|")
	if len(f) != 6 {
		t.Fatalf("the pod said %q", msg)
	}
	m := strings.Fields(f[0])
	if len(m) != 3 || m[0] != "0" || m[2] != "131072" || f[1] != f[0] {
		t.Errorf("uid_map %q, gid_map %q: want 0 mapped to 131072 host IDs, the same for groups", f[0], f[1])
	} else if host, err := strconv.Atoi(m[1]); err != nil || host < 131072 || host%131072 != 0 {
		t.Errorf("uid_map %q: want a block from a multiple of 131072 above the host's own IDs", f[0])
	}
	want := []string{"0:0 0:0 0:0", "readable", "touch: /tools/new: Read-only file system", "ro,"}
	if got := f[2:]; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("owners of /tools, /tools/bin, /tools/bin/busybox; reading; writing; mount options = %q, want %q", got, want)
	}

	if err := n.c.CoreV1().Pods("default").Delete(ctx, "userns-image", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "the pod's mounts gone", timeout, func(ctx context.Context) (bool, error) {
		if _, err := n.c.CoreV1().Pods("default").Get(ctx, "userns-image", metav1.GetOptions{}); err == nil {
			return false, fmt.Errorf("the pod is still there")
		}
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			return false, err
		}
		var left []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, n.rt.Dir) && (strings.Contains(l, "/containers/") || strings.Contains(l, "image-volumes") || strings.Contains(l, "idmapped")) {
				left = append(left, l)
			}
		}
		if len(left) > 0 {
			return false, fmt.Errorf("mounts left: %s", strings.Join(left, "\n"))
		}
		return true, nil
	})
}
