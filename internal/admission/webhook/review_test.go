package webhook

import (
	"bytes"
	"encoding/json"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/auth"
)

// typedReview is the AdmissionReview of seen built from the k8s.io/api
// types: what appendReview must write the JSON of.
func typedReview(seen, r *auth.AdmissionRequest, uid types.UID, e encoded) *admissionv1.AdmissionReview {
	dry := r.DryRun
	user := authenticationv1.UserInfo{}
	if u := r.User; u != nil {
		user = authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
		if len(u.Extra) > 0 {
			user.Extra = map[string]authenticationv1.ExtraValue{}
			for k, v := range u.Extra {
				user.Extra[k] = v
			}
		}
	}
	return &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:                uid,
			Kind:               metav1.GroupVersionKind{Group: seen.Kind.Group, Version: seen.Kind.Version, Kind: seen.Kind.Kind},
			Resource:           metav1.GroupVersionResource{Group: seen.APIGroup, Version: seen.Version, Resource: seen.Resource},
			SubResource:        r.Subresource,
			RequestKind:        &metav1.GroupVersionKind{Group: r.Kind.Group, Version: r.Kind.Version, Kind: r.Kind.Kind},
			RequestResource:    &metav1.GroupVersionResource{Group: r.APIGroup, Version: r.Version, Resource: r.Resource},
			RequestSubResource: r.Subresource,
			Name:               r.Name, Namespace: requestNamespace(r), Operation: admissionv1.Operation(r.Operation),
			UserInfo: user,
			Object:   runtime.RawExtension{Raw: e.object}, OldObject: runtime.RawExtension{Raw: e.old},
			DryRun: &dry, Options: runtime.RawExtension{Raw: e.options},
		},
	}
}

// TestAppendReview: the review a webhook receives is, byte for byte, the
// JSON of the typed AdmissionReview, and each object is the JSON of the
// object with its apiVersion and kind.
func TestAppendReview(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"app": "a<b>&c", "é": "ü"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"sh", "-c", "echo \"\\\u2028\""}}}},
	}
	old := pod.DeepCopy()
	old.Labels = nil
	podKind := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	base := auth.AdmissionRequest{
		User: &auth.User{Name: "alice", Groups: []string{"system:authenticated", "dev"}}, Operation: auth.Create,
		Resource: "pods", Version: "v1", Kind: podKind, Namespaced: true, Namespace: "default", Name: "p",
		Object: pod, Options: &metav1.CreateOptions{},
	}
	with := func(f func(r *auth.AdmissionRequest)) auth.AdmissionRequest {
		r := base
		f(&r)
		return r
	}
	cases := []struct {
		name string
		r    auth.AdmissionRequest
	}{
		{"create", base},
		{"no user", with(func(r *auth.AdmissionRequest) { r.User = nil })},
		{"user with uid and extra", with(func(r *auth.AdmissionRequest) {
			r.User = &auth.User{Name: "system:serviceaccount:ns:sa", UID: "u-1", Extra: map[string][]string{
				"authentication.kubernetes.io/pod-name": {"web"}, "a": nil, "authentication.kubernetes.io/node-name": {"n1"}}}
		})},
		{"escaped strings", with(func(r *auth.AdmissionRequest) {
			r.User = &auth.User{Name: "bob\"<x>&\x01ü\u2029", Groups: []string{""}}
			r.Name = "\\"
		})},
		{"update of a subresource, dry run", with(func(r *auth.AdmissionRequest) {
			r.Operation, r.Subresource, r.Old, r.DryRun, r.Options = auth.Update, "status", old, true, &metav1.UpdateOptions{FieldManager: "m"}
		})},
		{"delete", with(func(r *auth.AdmissionRequest) {
			r.Operation, r.Object, r.Old, r.Options = auth.Delete, nil, old, &metav1.DeleteOptions{}
		})},
		{"connect without options", with(func(r *auth.AdmissionRequest) {
			r.Operation, r.Subresource, r.Options, r.Object = auth.Connect, "exec", nil, &corev1.PodExecOptions{Command: []string{"ls"}}
		})},
		{"namespace update", with(func(r *auth.AdmissionRequest) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}
			r.Operation, r.Resource, r.Kind, r.Namespace, r.Name, r.Namespaced = auth.Update, "namespaces", schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "", "team", false
			r.Object, r.Old = ns, ns
		})},
		{"typed object with its kind set", with(func(r *auth.AdmissionRequest) {
			p := pod.DeepCopy()
			p.APIVersion, p.Kind = "v1", "Pod"
			r.Object = p
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			e, err := encode(&r, r.Object)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []struct {
				got  []byte
				obj  runtime.Object
				kind schema.GroupVersionKind
			}{{e.object, r.Object, r.Kind}, {e.old, r.Old, r.Kind}, {e.options, r.Options, metav1.SchemeGroupVersion.WithKind(optionsKind(r.Options))}} {
				if o.obj == nil {
					if o.got != nil {
						t.Errorf("encoded %s for no object", o.got)
					}
					continue
				}
				c := o.obj.DeepCopyObject()
				if c.GetObjectKind().GroupVersionKind().Empty() {
					c.GetObjectKind().SetGroupVersionKind(o.kind)
				}
				want, _ := json.Marshal(c)
				if !bytes.Equal(o.got, want) {
					t.Errorf("object encoded as\n%s\nwant\n%s", o.got, want)
				}
			}
			uid := types.UID("0b9a4f3e-uid")
			// As made, and as a webhook of another version sees it.
			other := r
			other.Version, other.Kind.Version = "v2beta1", "v2beta1"
			for _, seen := range []*auth.AdmissionRequest{&r, &other} {
				got, err := appendReview(nil, seen, &r, uid, e)
				if err != nil {
					t.Fatal(err)
				}
				want, err := json.Marshal(typedReview(seen, &r, uid, e))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("review\n%s\nwant\n%s", got, want)
				}
			}
		})
	}
}

func optionsKind(o runtime.Object) string {
	switch o.(type) {
	case *metav1.CreateOptions:
		return "CreateOptions"
	case *metav1.UpdateOptions:
		return "UpdateOptions"
	case *metav1.DeleteOptions:
		return "DeleteOptions"
	}
	return ""
}
