package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// Upstream's documented examples, adapted: an apply configuration that
// labels config maps and gives them a default color (match condition:
// only when they have none), and a JSON patch that labels pods through
// an escaped key.
const mutatingPolicies = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: default-color.example.com
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["configmaps"]
  matchConditions:
  - name: no-color
    expression: "!has(object.data) || !('color' in object.data)"
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: >
        Object{
          metadata: Object.metadata{labels: {"mutated-by": "policy"}},
          data: {"color": "blue"}
        }
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: default-color-binding
spec:
  policyName: default-color.example.com
  matchResources:
    namespaceSelector:
      matchLabels:
        mutate: "yes"
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: team-label.example.com
spec:
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  reinvocationPolicy: IfNeeded
  mutations:
  - patchType: JSONPatch
    jsonPatch:
      expression: >
        [JSONPatch{op: "add", path: "/metadata/labels/" + jsonpatch.escapeKey("example.com/team"), value: "blue"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: team-label-binding
spec:
  policyName: team-label.example.com
  matchResources:
    namespaceSelector:
      matchLabels:
        mutate: "yes"
`

// failingPolicy's expression fails at run time (no such key) for
// secrets in the namespaces its binding selects.
const failingPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: broken.example.com
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["secrets"]
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: 'Object{metadata: Object.metadata{labels: {"from": string(object.data["missing"])}}}'
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: broken-binding
spec:
  policyName: broken.example.com
  matchResources:
    namespaceSelector:
      matchLabels:
        mutate: "yes"
`

// waitConfigMap waits until a server-side dry run of creating cm in ns
// comes back as done says (the policies take effect through a watch).
func waitConfigMap(t *testing.T, s *clustertest.Server, ns string, cm *corev1.ConfigMap, done func(*corev1.ConfigMap, error) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.Client.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if done(got, err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dry run of %s in %s after 10s: %+v, %v", cm.Name, ns, got, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKubectlMutatingAdmissionPolicy is the user story with the real
// kubectl: policies applied from YAML change the config maps and pods
// created in the namespaces their bindings select (an apply
// configuration, a JSON patch, a match condition, params), a CEL error
// refuses the write with failurePolicy Fail and lets it through with
// Ignore, and kubectl get prints upstream's columns.
func TestKubectlMutatingAdmissionPolicy(t *testing.T) {
	s := clustertest.Start(t)
	s.MustKubectl("create", "namespace", "mut")
	s.MustKubectl("label", "namespace", "mut", "mutate=yes")
	s.MustKubectl("create", "namespace", "plain")
	if out, err := apply(t, s, mutatingPolicies); err != nil {
		t.Fatalf("apply the policies: %v\n%s", err, out)
	}
	waitConfigMap(t, s, "mut", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, func(cm *corev1.ConfigMap, err error) bool {
		return err == nil && cm.Data["color"] == "blue"
	})

	t.Run("apply configuration", func(t *testing.T) {
		s.MustKubectl("-n", "mut", "create", "configmap", "plain-cm", "--from-literal=size=L")
		out := s.MustKubectl("-n", "mut", "get", "configmap", "plain-cm", "-o", `jsonpath={.metadata.labels.mutated-by} {.data.color} {.data.size}`)
		if out != "policy blue L" {
			t.Errorf("created config map: %q, want the label, the default color and its own data", out)
		}
		// The match condition skips a config map that has a color.
		s.MustKubectl("-n", "mut", "create", "configmap", "red", "--from-literal=color=red")
		out = s.MustKubectl("-n", "mut", "get", "configmap", "red", "-o", `jsonpath={.metadata.labels} {.data.color}`)
		if out != " red" {
			t.Errorf("config map with a color: %q, want it untouched", out)
		}
		// A namespace the binding does not select is left alone.
		s.MustKubectl("-n", "plain", "create", "configmap", "cm")
		if out := s.MustKubectl("-n", "plain", "get", "configmap", "cm", "-o", `jsonpath={.data}`); out != "" {
			t.Errorf("config map outside the binding's namespaces got %q", out)
		}
	})

	t.Run("json patch", func(t *testing.T) {
		s.MustKubectl("-n", "mut", "run", "web", "--image=registry.invalid/web:1", "--restart=Never")
		out := s.MustKubectl("-n", "mut", "get", "pod", "web", "-o", `jsonpath={.metadata.labels}`)
		if !strings.Contains(out, `"example.com/team":"blue"`) || !strings.Contains(out, `"run":"web"`) {
			t.Errorf("pod labels %s, want example.com/team=blue beside run=web", out)
		}
	})

	t.Run("params", func(t *testing.T) {
		s.MustKubectl("create", "namespace", "teams")
		s.MustKubectl("label", "namespace", "teams", "mutate=params")
		s.MustKubectl("-n", "teams", "create", "configmap", "team-config", "--from-literal=team=green")
		if out, err := apply(t, s, `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata:
  name: team-from-params.example.com
spec:
  paramKind:
    apiVersion: v1
    kind: ConfigMap
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["serviceaccounts"]
  variables:
  - name: team
    expression: "params.data.team"
  reinvocationPolicy: Never
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: 'Object{metadata: Object.metadata{labels: {"team": variables.team}}}'
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: team-from-params-binding
spec:
  policyName: team-from-params.example.com
  paramRef:
    name: team-config
    parameterNotFoundAction: Allow
  matchResources:
    namespaceSelector:
      matchLabels:
        mutate: params
`); err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			sa, err := s.Client.CoreV1().ServiceAccounts("teams").Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				t.Fatal(err)
			}
			if sa.Labels["team"] == "green" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("service account labels %v after 10s, want team=green from the param", sa.Labels)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("failure policy", func(t *testing.T) {
		if out, err := apply(t, s, failingPolicy); err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		// Upstream puts the policy's error in place of the usual
		// "<resource> is forbidden" message.
		want := `error: failed to create secret policy 'broken.example.com' with binding 'broken-binding' denied request: expression 'Object{metadata: Object.metadata{labels: {"from": string(object.data["missing"])}}}' resulted in error: no such key: missing`
		var err error
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err = s.Kubectl("-n", "mut", "create", "secret", "generic", "s1", "--from-literal=a=b")
			if err != nil || time.Now().After(deadline) {
				break
			}
			s.MustKubectl("-n", "mut", "delete", "secret", "s1")
			time.Sleep(20 * time.Millisecond)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("create with a failing Fail policy: %v\nwant %s", err, want)
		}
		_, err = s.Client.CoreV1().Secrets("mut").Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s2"}}, metav1.CreateOptions{})
		if st, ok := err.(*apierrors.StatusError); !ok || st.ErrStatus.Code != 403 || st.ErrStatus.Reason != metav1.StatusReasonInvalid {
			t.Errorf("client-go create: %#v, want upstream's 403 with reason Invalid", err)
		}

		s.MustKubectl("patch", "mutatingadmissionpolicy", "broken.example.com", "--type=merge", "-p", `{"spec":{"failurePolicy":"Ignore"}}`)
		deadline = time.Now().Add(10 * time.Second)
		for {
			_, err = s.Kubectl("-n", "mut", "create", "secret", "generic", "s1", "--from-literal=a=b")
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("create with an Ignore policy: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if out := s.MustKubectl("-n", "mut", "get", "secret", "s1", "-o", "jsonpath={.metadata.labels}"); out != "" {
			t.Errorf("secret let through has labels %s", out)
		}
	})

	t.Run("bad policy", func(t *testing.T) {
		out, err := apply(t, s, strings.Replace(strings.Split(failingPolicy, "---")[0], `Object{metadata: Object.metadata{labels: {"from": string(object.data["missing"])}}}`, `"not an object"`, 1))
		if err == nil || !strings.Contains(err.Error(), `spec.mutations[0].applyConfiguration.expression: Invalid value`) {
			t.Errorf("a mutation of the wrong type: %v\n%s", err, out)
		}
	})

	out := s.MustKubectl("get", "mutatingadmissionpolicies")
	if !strings.Contains(out, "MUTATIONS") || !strings.Contains(out, "team-from-params.example.com   1           v1/ConfigMap") {
		t.Errorf("kubectl get mutatingadmissionpolicies:\n%s", out)
	}
	out = s.MustKubectl("api-resources", "--api-group=admissionregistration.k8s.io")
	for _, want := range []string{"mutatingadmissionpolicies ", "mutatingadmissionpolicybindings "} {
		if !strings.Contains(out, want) {
			t.Errorf("api-resources lacks %s:\n%s", want, out)
		}
	}
}
