package apiserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// evictionPolicy refuses evictions of pods named keep-*, and any
// eviction whose admission attributes are not upstream's.
const evictionPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: evictions.example.com
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups:   [""]
      apiVersions: ["v1"]
      operations:  ["CREATE"]
      resources:   ["pods/eviction"]
  validations:
  - expression: >-
      request.operation == 'CREATE' && request.resource.resource == 'pods' && request.subResource == 'eviction' &&
      request.kind.group == 'policy' && request.kind.kind == 'Eviction' && request.name == object.metadata.name
    message: not upstream's attributes
  - expression: "!object.metadata.name.startsWith('keep')"
    message: this pod is kept
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: evictions.example.com
spec:
  policyName: evictions.example.com
  validationActions: [Deny]
`

// Evictions are served as a registry action: bodies in policy/v1 and
// policy/v1beta1, dry runs, and admission sees a create of
// pods/eviction whose object is the Eviction.
func TestEvictionAction(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	c := s.Client
	for _, name := range []string{"a", "b", "c", "keep-1"} {
		// Pending: an eviction needs no budget, and the delete is at once.
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(name string) bool {
		_, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}

	// policy/v1beta1, as old clients post it.
	var code int
	err := c.CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("a").SubResource("eviction").
		SetHeader("Content-Type", "application/json").
		Body([]byte(`{"apiVersion":"policy/v1beta1","kind":"Eviction","metadata":{"name":"a"}}`)).
		Do(ctx).StatusCode(&code).Error()
	if err != nil || code != http.StatusCreated || !gone("a") {
		t.Errorf("policy/v1beta1 eviction: %v, code %d, pod gone %v", err, code, gone("a"))
	}

	// A dry run changes nothing.
	dry := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default"}, DeleteOptions: &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}}
	if err := c.PolicyV1().Evictions("default").Evict(ctx, dry); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if p, err := c.CoreV1().Pods("default").Get(ctx, "b", metav1.GetOptions{}); err != nil || len(p.Status.Conditions) != 0 {
		t.Errorf("after a dry run: %v, conditions %+v", err, p.Status.Conditions)
	}

	// Admission judges the eviction with upstream's attributes.
	if _, err := s.KubectlStdin(strings.NewReader(evictionPolicy), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	keep := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "keep-1", Namespace: "default"}, DeleteOptions: &metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.PolicyV1().Evictions("default").Evict(ctx, keep)
		if err != nil && strings.Contains(err.Error(), "this pod is kept") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("eviction of keep-1 with the policy in place: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.PolicyV1().Evictions("default").Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "default"}}); err != nil || !gone("c") {
		t.Errorf("eviction the policy allows: %v, pod gone %v", err, gone("c"))
	}
	if gone("keep-1") {
		t.Error("keep-1 is gone")
	}
}

// Token requests are served as a registry action: a pod's projected
// token (3607 seconds, the API's audience) is signed for a year and
// warns after its hour, as upstream's; a dry run signs nothing.
func TestTokenRequestAction(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	c := s.Client
	if _, err := c.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{ServiceAccountName: "robot", Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	projected := int64(3607)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &projected,
		BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "web", UID: pod.UID}}}
	tr, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", req, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(tr.Status.ExpirationTimestamp.Time); left < 59*time.Minute || left > 61*time.Minute {
		t.Errorf("answered expiry in %v, want the hour asked for", left)
	}
	claims := tokenClaims(t, tr.Status.Token)
	k8s, _ := claims["kubernetes.io"].(map[string]interface{})
	podClaim, _ := k8s["pod"].(map[string]interface{})
	iat, exp, warnAfter := claims["iat"].(float64), claims["exp"].(float64), k8s["warnafter"]
	if exp-iat != 365*24*3600 || warnAfter == nil || warnAfter.(float64)-iat != 3607 || podClaim["name"] != "web" || podClaim["uid"] != string(pod.UID) {
		t.Errorf("claims %v", claims)
	}

	dry, err := c.CoreV1().ServiceAccounts("default").CreateToken(ctx, "robot", req, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil || dry.Status.Token != "" {
		t.Errorf("dry run: %v, status %+v", err, dry.Status)
	}
}
