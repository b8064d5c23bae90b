package webhook_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestKubectl drives webhooks as a user does: kubectl applies the
// configurations, creates objects and sees what the webhooks did.
func TestKubectl(t *testing.T) {
	srv := clustertest.Start(t)
	ws := startWebhookServer(t, routes())
	ca := b64(ws.caBundle())
	config := fmt.Sprintf(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: deny-forbidden
webhooks:
- name: deny.example.com
  clientConfig:
    url: %[1]s/deny
    caBundle: %[2]s
  rules:
  - operations: ["CREATE", "UPDATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
  sideEffects: None
  admissionReviewVersions: ["v1"]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: a-saw-second
webhooks:
- name: sawsecond.example.com
  clientConfig:
    url: %[1]s/sawsecond
    caBundle: %[2]s
  rules:
  - operations: ["CREATE"]
    apiGroups: ["*"]
    apiVersions: ["*"]
    resources: ["configmaps"]
  objectSelector:
    matchLabels: {mutate: "yes"}
  reinvocationPolicy: IfNeeded
  sideEffects: None
  admissionReviewVersions: ["v1"]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: b-label
webhooks:
- name: mutate.example.com
  clientConfig:
    url: %[1]s/mutate
    caBundle: %[2]s
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
  matchConditions:
  - name: not-kube-system
    expression: object.metadata.namespace != "kube-system"
  objectSelector:
    matchLabels: {mutate: "yes"}
  sideEffects: None
  admissionReviewVersions: ["v1"]
- name: second.example.com
  clientConfig:
    url: %[1]s/second
    caBundle: %[2]s
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
  objectSelector:
    matchLabels: {mutate: "yes"}
  sideEffects: None
  admissionReviewVersions: ["v1"]
`, ws.URL, ca)
	mustKubectlIn(t, srv, config, "apply", "-f", "-")

	out := srv.MustKubectl("get", "validatingwebhookconfigurations")
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "WEBHOOKS") || !strings.Contains(out, "deny-forbidden") {
		t.Errorf("kubectl get validatingwebhookconfigurations:\n%s", out)
	}
	out = srv.MustKubectl("get", "mutatingwebhookconfiguration", "b-label", "-o", "jsonpath={.webhooks[0].failurePolicy} {.webhooks[0].matchPolicy} {.webhooks[0].timeoutSeconds} {.webhooks[0].reinvocationPolicy} {.webhooks[0].rules[0].scope}")
	if out != "Fail Equivalent 10 Never *" {
		t.Errorf("defaults: %q", out)
	}

	forbidden := `apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  labels: {%s: "yes"}
data: {a: b}
`
	var err error
	waitFor(t, "the validating webhook to refuse", func() bool {
		_, err = srv.KubectlStdin(strings.NewReader(fmt.Sprintf(forbidden, "refused", "forbidden")), "create", "-f", "-", "--dry-run=server")
		return err != nil
	})
	if want := `admission webhook "deny.example.com" denied the request: label forbidden is not allowed`; !strings.Contains(err.Error(), want) {
		t.Errorf("kubectl create: %v, want %q", err, want)
	}

	waitFor(t, "the mutating webhooks to label", func() bool {
		out, err := srv.KubectlStdin(strings.NewReader(fmt.Sprintf(forbidden, "probe", "mutate")), "create", "-f", "-", "--dry-run=server", "-o", "jsonpath={.metadata.labels.second}")
		return err == nil && out == "yes"
	})
	mustKubectlIn(t, srv, fmt.Sprintf(forbidden, "mutated", "mutate"), "create", "-f", "-")
	out = srv.MustKubectl("get", "configmap", "mutated", "--show-labels")
	for _, l := range []string{"mutated=yes", "second=yes", "saw-second=true"} {
		if !strings.Contains(out, l) {
			t.Errorf("kubectl get configmap --show-labels lacks %s (reinvocation shows as saw-second=true):\n%s", l, out)
		}
	}

	bad := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: bad
webhooks:
- name: bad
  clientConfig:
    url: http://127.0.0.1/x
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
  timeoutSeconds: 60
  sideEffects: Some
  admissionReviewVersions: ["v1"]
  matchConditions:
  - name: broken
    expression: "object.metadata.name =="
`
	_, err = srv.KubectlStdin(strings.NewReader(bad), "apply", "-f", "-")
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{
		`The ValidatingWebhookConfiguration "bad" is invalid`,
		`webhooks[0].name: Invalid value: "bad": should be a domain with at least three segments separated by dots`,
		`webhooks[0].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"`,
		`webhooks[0].timeoutSeconds: Invalid value: 60: the timeout value must be between 1 and 30 seconds`,
		`webhooks[0].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme`,
		`webhooks[0].matchConditions[0].expression: Invalid value: "object.metadata.name ==": compilation failed`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("kubectl apply of an invalid configuration: missing %q in\n%v", want, err)
		}
	}
}

func mustKubectlIn(t *testing.T, srv *clustertest.Server, stdin string, args ...string) string {
	t.Helper()
	out, err := srv.KubectlStdin(strings.NewReader(stdin), args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}
