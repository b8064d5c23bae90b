package deployment

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEqualIgnoreHash(t *testing.T) {
	a := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x:1"}}}}
	b := a.DeepCopy()
	b.Labels["pod-template-hash"] = "abc"
	if !equalIgnoreHash(a, b) || len(a.Labels) != 1 || len(b.Labels) != 2 {
		t.Fatalf("hash label not ignored, or an input changed: %v %v", a.Labels, b.Labels)
	}
	b.Spec.Containers[0].Image = "x:2"
	if equalIgnoreHash(a, b) {
		t.Fatal("different images compare equal")
	}
	// nil and empty labels are the same (Semantic equality).
	c, d := a.DeepCopy(), a.DeepCopy()
	c.Labels, d.Labels = nil, map[string]string{"pod-template-hash": "x"}
	if !equalIgnoreHash(c, d) {
		t.Fatal("nil labels differ from only a hash")
	}
}
