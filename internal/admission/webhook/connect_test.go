package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	regv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestConnect: exec, attach and port-forward are CONNECT requests
// that webhooks and validating admission policies registered on
// pods/exec, pods/attach and pods/portforward see (the options as the
// object, as upstream sends them) and may refuse, before the stream
// opens. The pod is never scheduled, so an allowed request ends in
// "does not have a host assigned".
func TestConnect(t *testing.T) {
	srv := clustertest.Start(t)
	ctx := context.Background()
	ws := startWebhookServer(t, map[string]answer{"/connect": denyContainer("c1")})
	ns := namespace(t, srv.Client, "connect")
	h := hookFor("connect.example.com", ws.URL+"/connect", ws.caBundle(), ns, regv1.Fail, 10)
	h.Rules = []regv1.RuleWithOperations{{
		Operations: []regv1.OperationType{regv1.Connect},
		Rule:       regv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods/exec", "pods/attach", "pods/portforward"}},
	}}
	v := &regv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "connect"}, Webhooks: []regv1.ValidatingWebhook{h}}
	if _, err := srv.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, v, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createConnectPolicy(t, srv, ns)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "c1", Image: "busybox:1"}, {Name: "c2", Image: "busybox:1"}, {Name: "c3", Image: "busybox:1"},
		}},
	}
	if _, err := srv.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	unscheduled := "does not have a host assigned"
	waitFor(t, "the webhook to refuse exec in c1", func() bool {
		_, err := srv.Kubectl("-n", ns, "exec", "p", "-c", "c1", "--", "true")
		return err != nil && strings.Contains(err.Error(), "no connections to c1")
	})
	waitFor(t, "the policy to refuse exec in c3", func() bool {
		_, err := srv.Kubectl("-n", ns, "exec", "p", "-c", "c3", "--", "true")
		return err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy 'no-c3' with binding 'no-c3' denied request")
	})
	denied := `admission webhook "connect.example.com" denied the request: no connections to c1`
	if _, err := srv.Kubectl("-n", ns, "exec", "p", "-c", "c2", "--", "true"); err == nil || !strings.Contains(err.Error(), unscheduled) {
		t.Errorf("kubectl exec in c2: got %v, want an error with %q", err, unscheduled)
	}
	// The requests as clients send them: POST opens a SPDY stream, GET a
	// WebSocket one (a read to the server, admitted all the same).
	rc := srv.Client.CoreV1().RESTClient()
	for _, tc := range []struct {
		method, sub, container, want string
	}{
		{"POST", "attach", "c1", denied},
		{"GET", "attach", "c1", denied},
		{"GET", "exec", "c1", denied},
		{"GET", "exec", "c3", "ValidatingAdmissionPolicy 'no-c3' with binding 'no-c3' denied request"},
		{"GET", "attach", "c3", unscheduled}, // the policy is on exec only
		{"POST", "attach", "c2", unscheduled},
	} {
		t.Run(tc.method+" "+tc.sub+" "+tc.container, func(t *testing.T) {
			req := rc.Post()
			if tc.method == "GET" {
				req = rc.Get()
			}
			err := req.Namespace(ns).Resource("pods").Name("p").SubResource(tc.sub).
				Param("container", tc.container).Param("stdin", "true").Param("stdout", "true").Param("command", "true").
				Do(ctx).Error()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}

	// kubectl port-forward waits for a running pod: the request as it
	// sends it.
	err := srv.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name("p").SubResource("portforward").
		Param("ports", "8080").Do(ctx).Error()
	if err == nil || !strings.Contains(err.Error(), unscheduled) {
		t.Errorf("port forward: got %v, want an error with %q", err, unscheduled)
	}
	var forwards []string
	for _, r := range ws.seen("/connect") {
		if r.SubResource == "portforward" {
			forwards = append(forwards, string(r.Object.Raw))
		}
	}
	if want := `{"kind":"PodPortForwardOptions","apiVersion":"v1","ports":[8080]}`; !slices.Equal(forwards, []string{want}) {
		t.Errorf("the webhook saw port forwards %q, want %q", forwards, want)
	}

	// What the webhook saw of an exec: operation, kind and resource as
	// upstream's, the options as the object, no old object.
	var exec *admissionv1.AdmissionRequest
	for _, r := range ws.seen("/connect") {
		if r.SubResource == "exec" && strings.Contains(string(r.Object.Raw), `"c2"`) {
			exec = r
		}
	}
	if exec == nil {
		t.Fatal("the webhook saw no exec in c2")
	}
	var opts corev1.PodExecOptions
	if err := json.Unmarshal(exec.Object.Raw, &opts); err != nil {
		t.Fatal(err)
	}
	want := metav1.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}
	if exec.Operation != admissionv1.Connect || exec.Kind != want || exec.Resource.Resource != "pods" ||
		exec.Name != "p" || exec.Namespace != ns || len(exec.OldObject.Raw) != 0 || len(exec.Options.Raw) != 0 {
		t.Errorf("exec request: operation %s kind %v resource %v name %s/%s old %s options %s",
			exec.Operation, exec.Kind, exec.Resource, exec.Namespace, exec.Name, exec.OldObject.Raw, exec.Options.Raw)
	}
	if opts.Kind != "PodExecOptions" || opts.APIVersion != "v1" || !slices.Equal(opts.Command, []string{"true"}) || !opts.Stdout || !opts.Stderr {
		t.Errorf("exec options %s", exec.Object.Raw)
	}
}

// denyContainer refuses connections whose options name container.
func denyContainer(container string) answer {
	return func(_ http.ResponseWriter, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		var opts struct {
			Container string `json:"container"`
		}
		if err := json.Unmarshal(req.Object.Raw, &opts); err == nil && opts.Container == container {
			return &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: fmt.Sprintf("no connections to %s", container)}}
		}
		return &admissionv1.AdmissionResponse{Allowed: true}
	}
}

// createConnectPolicy refuses exec in container c3 in namespace ns.
func createConnectPolicy(t *testing.T, srv *clustertest.Server, ns string) {
	t.Helper()
	ctx := context.Background()
	adm := srv.Client.AdmissionregistrationV1()
	p := &regv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "no-c3"},
		Spec: regv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &regv1.MatchResources{ResourceRules: []regv1.NamedRuleWithOperations{{RuleWithOperations: regv1.RuleWithOperations{
				Operations: []regv1.OperationType{regv1.Connect},
				Rule:       regv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods/exec"}},
			}}}},
			Validations: []regv1.Validation{{Expression: "object.container != 'c3'"}},
		},
	}
	if _, err := adm.ValidatingAdmissionPolicies().Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := &regv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "no-c3"},
		Spec: regv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        "no-c3",
			ValidationActions: []regv1.ValidationAction{regv1.Deny},
			MatchResources:    &regv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"case": ns}}},
		},
	}
	if _, err := adm.ValidatingAdmissionPolicyBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
