package policy

import (
	"context"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

// BenchmarkAdmit is the cost of the plugin per pod create: with nothing
// bound, with a policy bound to other resources, and with one bound to
// pods (one CEL rule over the containers, as apibench -policy).
func BenchmarkAdmit(b *testing.B) {
	podPolicy := demoPolicy(func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
		r := &p.Spec.MatchConstraints.ResourceRules[0]
		r.APIGroups, r.Resources = []string{""}, []string{"pods"}
		p.Spec.Validations[0].Expression = "size(object.spec.containers) <= 10 && object.spec.containers.all(c, c.image != '')"
	})
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: "default", Labels: map[string]string{"app": "apibench"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
	}
	req := &auth.AdmissionRequest{User: &auth.User{Name: "admin"}, Operation: auth.Create, Resource: "pods", Namespace: "default", Name: "bench", Object: pod,
		Version: "v1", Kind: corev1.SchemeGroupVersion.WithKind("Pod"), Namespaced: true}
	bad := *req
	bad.Object = &corev1.Pod{ObjectMeta: pod.ObjectMeta, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}}}
	nsBound := binding("b", deny, func(x *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		x.Spec.MatchResources = &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "default"}}}
	})
	for _, bc := range []struct {
		name     string
		policies []*admissionregistrationv1.ValidatingAdmissionPolicy
		bindings []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
		refuses  bool // a pod without an image
	}{
		{name: "none"},
		{name: "other-resource", policies: []*admissionregistrationv1.ValidatingAdmissionPolicy{demoPolicy()}, bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)}},
		{name: "pods", policies: []*admissionregistrationv1.ValidatingAdmissionPolicy{podPolicy}, bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{binding("b", deny)}, refuses: true},
		{name: "pods-namespace-selector", policies: []*admissionregistrationv1.ValidatingAdmissionPolicy{podPolicy}, bindings: []*admissionregistrationv1.ValidatingAdmissionPolicyBinding{nsBound}, refuses: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := New(Config{Namespaces: newCluster(), Params: newCluster()})
			p.ResetPolicies(bc.policies)
			p.ResetBindings(bc.bindings)
			ctx := context.Background()
			if err := p.Admit(ctx, &bad); (err != nil) != bc.refuses {
				b.Fatalf("a pod without an image: %v", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Admit(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
