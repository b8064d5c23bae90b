// Package attachdetachtest makes what attach/detach tests start from:
// claims bound to CSI persistent volumes, pods using them, and the
// kubelet's word that it mounted them.
package attachdetachtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// Timeout bounds every wait of these tests.
const Timeout = 30 * time.Second

// BoundClaim creates claim in namespace default bound to a new CSI
// persistent volume pv (ReadWriteOnce) of driver with handle, as the
// persistent volume controller would leave them.
func BoundClaim(t testing.TB, c kubernetes.Interface, claim, pv, driver, handle string) {
	t.Helper()
	ctx := context.Background()
	size := resource.MustParse("1Gi")
	pvc, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: claim},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: new(string),
			VolumeName:       pv,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pv},
		Spec: corev1.PersistentVolumeSpec{
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: size},
			ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: claim, UID: pvc.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pvc.Status.Phase = corev1.ClaimBound
	pvc.Status.AccessModes = pvc.Spec.AccessModes
	pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: size}
	if _, err := c.CoreV1().PersistentVolumeClaims("default").UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// Pod creates a pod on node using the claims.
func Pod(t testing.TB, c kubernetes.Interface, name, node string, claims ...string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName:                     node,
			AutomountServiceAccountToken: new(bool),
			Containers:                   []corev1.Container{{Name: "app", Image: "busybox"}},
		},
	}
	for _, cl := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: cl, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: cl},
		}})
	}
	p, err := c.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// DeletePod deletes a pod at once and waits for it to be gone.
func DeletePod(t testing.TB, c kubernetes.Interface, name string) {
	t.Helper()
	zero := int64(0)
	if err := c.CoreV1().Pods("default").Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "pod "+name+" gone", Timeout, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// SetInUse reports node's volumesInUse, as its kubelet does when it
// mounts and unmounts volumes.
func SetInUse(t testing.TB, c kubernetes.Interface, node string, names ...corev1.UniqueVolumeName) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"volumesInUse": names}})
	if _, err := c.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
}

// WaitAttachment waits for the attachment of handle (of driver) to
// node to satisfy cond and returns it.
func WaitAttachment(t testing.TB, c kubernetes.Interface, what, handle, driver, node string, cond func(*storagev1.VolumeAttachment) bool) *storagev1.VolumeAttachment {
	t.Helper()
	name := volumeattachment.Name(handle, driver, node)
	var va *storagev1.VolumeAttachment
	controllertest.WaitFor(t, what, Timeout, func(ctx context.Context) (bool, error) {
		var err error
		va, err = c.StorageV1().VolumeAttachments().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && cond(va), err
	})
	return va
}

// WaitDetached waits for the attachment of handle to node to be gone.
func WaitDetached(t testing.TB, c kubernetes.Interface, handle, driver, node string) {
	t.Helper()
	name := volumeattachment.Name(handle, driver, node)
	controllertest.WaitFor(t, "volumeattachment "+name+" deleted", Timeout, func(ctx context.Context) (bool, error) {
		_, err := c.StorageV1().VolumeAttachments().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// WaitListed waits for node's status.volumesAttached to be want.
func WaitListed(t testing.TB, c kubernetes.Interface, node string, want ...corev1.UniqueVolumeName) {
	t.Helper()
	controllertest.WaitFor(t, fmt.Sprintf("volumesAttached of %s to be %v", node, want), Timeout, func(ctx context.Context) (bool, error) {
		n, err := c.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if len(n.Status.VolumesAttached) != len(want) {
			return false, nil
		}
		for i, v := range n.Status.VolumesAttached {
			if v.Name != want[i] {
				return false, nil
			}
		}
		return true, nil
	})
}

// WaitEvent waits for an event of reason on a pod whose message
// contains msg.
func WaitEvent(t testing.TB, c kubernetes.Interface, pod, reason, msg string) {
	t.Helper()
	controllertest.WaitFor(t, reason+" event on "+pod, Timeout, func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod + ",reason=" + reason})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if strings.Contains(e.Message, msg) {
				return true, nil
			}
		}
		return false, nil
	})
}
