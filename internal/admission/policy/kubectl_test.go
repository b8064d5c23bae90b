package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

const demoPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: demo-policy.example.com
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups:   ["apps"]
      apiVersions: ["v1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["deployments"]
  validations:
  - expression: "object.spec.replicas <= 5"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: demo-binding-test.example.com
spec:
  policyName: demo-policy.example.com
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        environment: test
`

// apply runs kubectl apply -f - with doc (kubectl validates it against
// the server's OpenAPI first).
func apply(t *testing.T, s *clustertest.Server, doc string) (string, error) {
	t.Helper()
	return s.KubectlStdin(strings.NewReader(doc), "apply", "-f", "-")
}

// deployment is a deployment of n replicas named name.
func deployment(name string, n int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
			},
		},
	}
}

// waitRefused waits until a server-side dry run of creating d in ns is
// refused (refused true) or allowed: the policies take effect through
// a watch, a moment after they are written.
func waitRefused(t *testing.T, s *clustertest.Server, ns string, d *appsv1.Deployment, refused bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if (err != nil) == refused {
			return
		}
		if err != nil && !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) {
			t.Fatalf("dry run: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("create %s in %s: refused=%v after 10s (err %v)", d.Name, ns, err != nil, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKubectlValidatingAdmissionPolicy is the user story with the real
// kubectl: upstream's documented demo policy refuses 6 replicas and
// allows 5 in the namespaces its binding selects, a Warn binding warns,
// a param-backed policy follows its ConfigMap, a bad expression is
// refused, and kubectl get prints upstream's columns.
func TestKubectlValidatingAdmissionPolicy(t *testing.T) {
	s := clustertest.Start(t)
	s.MustKubectl("create", "namespace", "test")
	s.MustKubectl("label", "namespace", "test", "environment=test")
	s.MustKubectl("create", "namespace", "other")
	if out, err := apply(t, s, demoPolicy); err != nil {
		t.Fatalf("apply the demo policy: %v\n%s", err, out)
	}
	waitRefused(t, s, "test", deployment("probe", 6), true)

	_, err := s.Kubectl("-n", "test", "create", "deployment", "web", "--image=x", "--replicas=6")
	want := `error: failed to create deployment: deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("6 replicas in test: %v\nwant %s", err, want)
	}
	if _, err := s.Client.AppsV1().Deployments("test").Get(context.Background(), "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused deployment was stored: %v", err)
	}
	s.MustKubectl("-n", "test", "create", "deployment", "web", "--image=x", "--replicas=5")
	// An update is held to it too; the namespace the binding does not
	// select is not.
	if _, err := s.Kubectl("-n", "test", "scale", "deployment", "web", "--replicas=7"); err == nil {
		t.Error("scaling to 7 was allowed")
	}
	s.MustKubectl("-n", "other", "create", "deployment", "web", "--image=x", "--replicas=6")

	// The 422 names the reason, for clients that look.
	_, err = s.Client.AppsV1().Deployments("test").Create(context.Background(), deployment("api", 9), metav1.CreateOptions{})
	if st, ok := err.(*apierrors.StatusError); !ok || st.ErrStatus.Code != 422 || st.ErrStatus.Reason != metav1.StatusReasonInvalid {
		t.Errorf("client-go create of 9 replicas: %#v", err)
	}

	out := s.MustKubectl("get", "validatingadmissionpolicies")
	if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "VALIDATIONS") || !strings.Contains(out, "PARAMKIND") ||
		!strings.Contains(out, "demo-policy.example.com   1             <unset>") {
		t.Errorf("kubectl get validatingadmissionpolicies:\n%s", out)
	}
	out = s.MustKubectl("get", "validatingadmissionpolicybindings")
	if !strings.Contains(out, "POLICYNAME") || !strings.Contains(out, "demo-binding-test.example.com   demo-policy.example.com   <unset>") {
		t.Errorf("kubectl get validatingadmissionpolicybindings:\n%s", out)
	}

	t.Run("warn", func(t *testing.T) {
		if out, err := apply(t, s, strings.NewReplacer(
			"demo-policy.example.com", "warn-policy.example.com",
			"demo-binding-test.example.com", "warn-binding.example.com",
			"[Deny]", "[Warn]", "<= 5", "<= 2", "environment: test", "environment: warn").Replace(demoPolicy)); err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		s.MustKubectl("create", "namespace", "warned")
		s.MustKubectl("label", "namespace", "warned", "environment=warn")
		var warning string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			// kubectl prints the API's warnings on stderr.
			warning = stderrOf(t, s, "-n", "warned", "create", "deployment", "probe", "--image=x", "--replicas=3", "--dry-run=server")
			if strings.Contains(warning, "Warning:") {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.MustKubectl("-n", "warned", "create", "deployment", "web", "--image=x", "--replicas=3")
		want := "Warning: Validation failed for ValidatingAdmissionPolicy 'warn-policy.example.com' with binding 'warn-binding.example.com': failed expression: object.spec.replicas <= 2"
		if !strings.Contains(warning, want) {
			t.Errorf("kubectl printed %q, want %q", warning, want)
		}
	})

	t.Run("params", func(t *testing.T) {
		s.MustKubectl("create", "namespace", "limited")
		s.MustKubectl("-n", "limited", "create", "configmap", "limits", "--from-literal=maxReplicas=3")
		if out, err := apply(t, s, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: max-replicas
spec:
  paramKind:
    apiVersion: v1
    kind: ConfigMap
  matchConstraints:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["deployments"]
  validations:
  - expression: "object.spec.replicas <= int(params.data.maxReplicas)"
    messageExpression: "'replicas must be no greater than ' + params.data.maxReplicas"
    reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: max-replicas-limited
spec:
  policyName: max-replicas
  validationActions: [Deny]
  paramRef:
    name: limits
    parameterNotFoundAction: Deny
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: limited
`); err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		waitRefused(t, s, "limited", deployment("probe", 4), true)
		_, err := s.Kubectl("-n", "limited", "create", "deployment", "web", "--image=x", "--replicas=4")
		want := `deployments.apps "web" is forbidden: ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-limited' denied request: replicas must be no greater than 3`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("4 replicas with maxReplicas 3: %v\nwant %s", err, want)
		}
		_, err = s.Client.AppsV1().Deployments("limited").Create(context.Background(), deployment("api", 4), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("reason Forbidden gives %v, want a 403", err)
		}
		// The policy follows a change of its param.
		s.MustKubectl("-n", "limited", "patch", "configmap", "limits", "--type=merge", "-p", `{"data":{"maxReplicas":"10"}}`)
		waitRefused(t, s, "limited", deployment("probe", 4), false)
		s.MustKubectl("-n", "limited", "create", "deployment", "web", "--image=x", "--replicas=4")
		// Without the param, Deny refuses everything.
		s.MustKubectl("-n", "limited", "delete", "configmap", "limits")
		waitRefused(t, s, "limited", deployment("probe", 1), true)
		_, err = s.Kubectl("-n", "limited", "create", "deployment", "one", "--image=x")
		if err == nil || !strings.Contains(err.Error(), "failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction") {
			t.Errorf("missing param: %v", err)
		}
	})

	t.Run("bad expression", func(t *testing.T) {
		out, err := apply(t, s, strings.NewReplacer("demo-policy.example.com", "bad.example.com", "object.spec.replicas <= 5", "object.spec.replicas <=").Replace(strings.Split(demoPolicy, "---")[0]))
		if err == nil {
			t.Fatalf("a policy that does not compile was accepted:\n%s", out)
		}
		for _, want := range []string{`The ValidatingAdmissionPolicy "bad.example.com" is invalid`, `spec.validations[0].expression: Invalid value: "object.spec.replicas <=": compilation failed: ERROR: <input>:1:24: Syntax error: mismatched input '<EOF>'`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("refusal %v\nwant %s", err, want)
			}
		}
		out, err = apply(t, s, strings.NewReplacer("demo-policy.example.com", "bad.example.com", "object.spec.replicas <= 5", "object.spec.nosuchfield.size() > 'a'").Replace(strings.Split(demoPolicy, "---")[0]))
		if err == nil || !strings.Contains(err.Error(), "spec.validations[0].expression: Invalid value") {
			t.Errorf("a type error: %v\n%s", err, out)
		}
	})
}

// stderrOf runs kubectl and returns what it printed on stderr, where it
// prints the API's warnings.
func stderrOf(t *testing.T, s *clustertest.Server, args ...string) string {
	t.Helper()
	cmd := kubectlCmd(t, s, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, stderr.String())
	}
	return stderr.String()
}
