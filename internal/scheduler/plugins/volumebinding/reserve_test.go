package volumebinding

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

// boundPair is what the volume controller makes of a volume whose
// claimRef names the claim: both bound, bind completed.
func boundPair(pv *corev1.PersistentVolume, pvc *corev1.PersistentVolumeClaim) (*corev1.PersistentVolume, *corev1.PersistentVolumeClaim) {
	pv, pvc = pv.DeepCopy(), pvc.DeepCopy()
	pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID}
	pv.Status.Phase = corev1.VolumeBound
	pv.ResourceVersion = "3"
	pvc.Spec.VolumeName = pv.Name
	metav1.SetMetaDataAnnotation(&pvc.ObjectMeta, volumehelpers.AnnBindCompleted, "yes")
	pvc.Status.Phase = corev1.ClaimBound
	pvc.ResourceVersion = "3"
	return pv, pvc
}

// TestPreBind: what PreBind writes for a static match and for
// provisioning, and how it ends when the cluster answers.
func TestPreBind(t *testing.T) {
	pvc := claim("data", "", "static")
	dynamic := claim("data", "", "dynamic")
	pv := localPV("pv-1", "n1", "static")
	provisioned := localPV("pvc-data", "n1", "dynamic")
	tests := []struct {
		name string
		objs []any
		// wrote checks the API after PreBind's writes.
		wrote func(t *testing.T, c *fake.Clientset)
		// answer is what the controllers do then (nil: nothing).
		answer []any
		want   string
	}{
		{"a static match is bound through the volume's claimRef", []any{pvc, pv},
			func(t *testing.T, c *fake.Clientset) {
				got, _ := c.CoreV1().PersistentVolumes().Get(t.Context(), "pv-1", metav1.GetOptions{})
				if ref := got.Spec.ClaimRef; ref == nil || ref.Name != "data" || ref.UID != pvc.UID || got.Annotations[volumehelpers.AnnBoundByController] != "yes" {
					t.Errorf("volume written: claimRef %+v, annotations %v", got.Spec.ClaimRef, got.Annotations)
				}
			},
			func() []any { v, c := boundPair(pv, pvc); return []any{v, c} }(), ""},
		{"the volume given to another claim fails", []any{pvc, pv}, nil,
			[]any{func() *corev1.PersistentVolume {
				v := pv.DeepCopy()
				v.ResourceVersion = "3"
				v.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "other", UID: "uid-other"}
				return v
			}()},
			`binding volumes: pv "pv-1" is bound to another claim default/other`},
		{"a claim to provision gets the node", []any{dynamic},
			func(t *testing.T, c *fake.Clientset) {
				got, _ := c.CoreV1().PersistentVolumeClaims("default").Get(t.Context(), "data", metav1.GetOptions{})
				if n := got.Annotations[volumehelpers.AnnSelectedNode]; n != "n1" {
					t.Errorf("selected node %q", n)
				}
			},
			func() []any {
				v, c := boundPair(provisioned, dynamic)
				metav1.SetMetaDataAnnotation(&c.ObjectMeta, volumehelpers.AnnSelectedNode, "n1")
				return []any{v, c}
			}(), ""},
		{"the provisioner removing the node fails", []any{dynamic}, nil,
			func() []any {
				c := dynamic.DeepCopy()
				c.ResourceVersion = "3"
				metav1.SetMetaDataAnnotation(&c.ObjectMeta, volumehelpers.AnnStorageProvisioner, "example.com/csi")
				return []any{c}
			}(),
			`binding volumes: provisioning failed for PVC "data"`},
		{"nobody answers", []any{dynamic}, nil, nil, `binding volumes: context deadline exceeded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := append([]any{class("static", volumehelpers.NotSupportedProvisioner, delayed), class("dynamic", "example.com/csi", delayed), st.Node("n1")}, tt.objs...)
			f := newFixture(t, objs...)
			var api []runtime.Object
			for _, o := range tt.objs {
				api = append(api, o.(runtime.Object))
			}
			client := fake.NewClientset(api...)
			// The API gives every write a new resource version.
			client.PrependReactor("update", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if o, err := meta.Accessor(a.(k8stesting.UpdateAction).GetObject()); err == nil {
					o.SetResourceVersion("2")
				}
				return false, nil, nil
			})
			pl := New(f.listers())
			timeout := 10 * time.Second
			if tt.answer == nil {
				timeout = 200 * time.Millisecond
			}
			pl.SetBinding(Binding{Client: client, Timeout: timeout})
			pod := st.Pod("p", uses("data"))
			state, s := cycle(t, pl, pod, st.Node("n1"))
			if !s.IsSuccess() {
				t.Fatalf("cycle: %v", s)
			}
			done := make(chan *framework.Status, 1)
			go func() { done <- pl.PreBind(context.Background(), state, framework.NewPodInfo(pod), "n1") }()
			waitWrites(t, client, 1)
			if tt.wrote != nil {
				tt.wrote(t, client)
			}
			for _, o := range tt.answer {
				f.put(t, o)
			}
			pl.Notify()
			select {
			case s := <-done:
				if s.Message() != tt.want {
					t.Errorf("PreBind: %q, want %q", s.Message(), tt.want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("PreBind did not return")
			}
		})
	}
}

// waitWrites waits until the client saw n updates.
func waitWrites(t *testing.T, c *fake.Clientset, n int) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		updates := 0
		for _, a := range c.Actions() {
			if a.GetVerb() == "update" {
				updates++
			}
		}
		return updates >= n, nil
	})
	if err != nil {
		t.Fatalf("PreBind did not write: %v", err)
	}
}
