package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	regv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

func jsonPatch(ops ...map[string]any) *admissionv1.AdmissionResponse {
	data, _ := json.Marshal(ops)
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: data, PatchType: &pt}
}

// addLabel answers a patch that sets label k=v on the request's object.
func addLabel(req *admissionv1.AdmissionRequest, k, v string) *admissionv1.AdmissionResponse {
	var obj metav1.PartialObjectMetadata
	json.Unmarshal(req.Object.Raw, &obj)
	if obj.Labels == nil {
		return jsonPatch(map[string]any{"op": "add", "path": "/metadata/labels", "value": map[string]string{k: v}})
	}
	return jsonPatch(map[string]any{"op": "add", "path": "/metadata/labels/" + k, "value": v})
}

func labelsOf(req *admissionv1.AdmissionRequest) map[string]string {
	var obj metav1.PartialObjectMetadata
	json.Unmarshal(req.Object.Raw, &obj)
	return obj.Labels
}

func routes() map[string]answer {
	return map[string]answer{
		"/allow": allow,
		"/deny": func(_ http.ResponseWriter, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			if _, ok := labelsOf(req)["forbidden"]; ok {
				return &admissionv1.AdmissionResponse{Result: &metav1.Status{Message: "label forbidden is not allowed"}}
			}
			return &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{"checked by deny.example.com"}, AuditAnnotations: map[string]string{"checked": "yes"}}
		},
		"/mutate": func(_ http.ResponseWriter, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return addLabel(req, "mutated", "yes")
		},
		"/second": func(_ http.ResponseWriter, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return addLabel(req, "second", "yes")
		},
		// sawsecond records whether the label /second adds is there yet:
		// called first, it sees it only when reinvoked.
		"/sawsecond": func(_ http.ResponseWriter, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			_, ok := labelsOf(req)["second"]
			return addLabel(req, "saw-second", fmt.Sprint(ok))
		},
		"/slow": func(w http.ResponseWriter, _ *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			time.Sleep(3 * time.Second)
			return &admissionv1.AdmissionResponse{Allowed: true}
		},
		"/garbage": func(w http.ResponseWriter, _ *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("this is not an AdmissionReview"))
			return nil
		},
		"/breakpatch": func(_ http.ResponseWriter, _ *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			return jsonPatch(map[string]any{"op": "add", "path": "/data", "value": 5})
		},
	}
}

func ptr[T any](v T) *T { return &v }

// hookFor is a webhook on configmaps of the namespaces labelled
// case=<tc>, answered at url.
func hookFor(name, url string, ca []byte, tc string, fail regv1.FailurePolicyType, timeout int32) regv1.ValidatingWebhook {
	return regv1.ValidatingWebhook{
		Name:         name,
		ClientConfig: regv1.WebhookClientConfig{URL: &url, CABundle: ca},
		Rules: []regv1.RuleWithOperations{{
			Operations: []regv1.OperationType{regv1.Create, regv1.Update},
			Rule:       regv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
		}},
		NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"case": tc}},
		FailurePolicy:           &fail,
		SideEffects:             ptr(regv1.SideEffectClassNone),
		TimeoutSeconds:          &timeout,
		AdmissionReviewVersions: []string{"v1"},
	}
}

func namespace(t *testing.T, c kubernetes.Interface, tc string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tc, Labels: map[string]string{"case": tc}}}
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return tc
}

func configMap(name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: map[string]string{"k": "v"}}
}

// deadURL is an https URL on loopback where nothing listens.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "https://" + addr + "/dead"
}

// TestFailures: a webhook that cannot be reached, times out, answers
// garbage or a patch that breaks the object; failurePolicy decides.
func TestFailures(t *testing.T) {
	srv := clustertest.Start(t)
	ws := startWebhookServer(t, routes())
	ca := ws.caBundle()
	dead := deadURL(t)
	cases := []struct {
		name    string
		url     string
		fail    regv1.FailurePolicyType
		timeout int32
		mutate  bool
		want    string // "" means the write goes through
		within  time.Duration
	}{
		{name: "dead-fail", url: dead, fail: regv1.Fail,
			want: fmt.Sprintf(`Internal error occurred: failed calling webhook "x.example.com": failed to call webhook: Post "%s?timeout=10s": dial tcp %s: connect: connection refused`, dead, strings.TrimSuffix(strings.TrimPrefix(dead, "https://"), "/dead"))},
		{name: "dead-ignore", url: dead, fail: regv1.Ignore},
		{name: "slow-fail", url: ws.URL + "/slow", fail: regv1.Fail, timeout: 1,
			want: fmt.Sprintf(`Internal error occurred: failed calling webhook "x.example.com": failed to call webhook: Post "%s/slow?timeout=1s": context deadline exceeded`, ws.URL), within: 2500 * time.Millisecond},
		{name: "slow-ignore", url: ws.URL + "/slow", fail: regv1.Ignore, timeout: 1, within: 2500 * time.Millisecond},
		{name: "garbage-fail", url: ws.URL + "/garbage", fail: regv1.Fail,
			want: `Internal error occurred: failed calling webhook "x.example.com": failed to call webhook: decode AdmissionReview`},
		{name: "garbage-ignore", url: ws.URL + "/garbage", fail: regv1.Ignore},
		// As upstream: a patch that does not make an object refuses the
		// write whatever the failure policy.
		{name: "breakpatch-fail", url: ws.URL + "/breakpatch", fail: regv1.Fail, mutate: true, want: "Internal error occurred: json: cannot unmarshal number"},
		{name: "breakpatch-ignore", url: ws.URL + "/breakpatch", fail: regv1.Ignore, mutate: true, want: "Internal error occurred: json: cannot unmarshal number"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := namespace(t, srv.Client, tc.name)
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10
			}
			h := hookFor("x.example.com", tc.url, ca, tc.name, tc.fail, timeout)
			if tc.mutate {
				m := &regv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: tc.name}, Webhooks: []regv1.MutatingWebhook{{
					Name: h.Name, ClientConfig: h.ClientConfig, Rules: h.Rules, NamespaceSelector: h.NamespaceSelector,
					FailurePolicy: h.FailurePolicy, SideEffects: h.SideEffects, TimeoutSeconds: h.TimeoutSeconds, AdmissionReviewVersions: h.AdmissionReviewVersions,
				}}}
				if _, err := srv.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, m, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			} else {
				v := &regv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: tc.name}, Webhooks: []regv1.ValidatingWebhook{h}}
				if _, err := srv.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, v, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			// The configuration reaches the server through a watch: wait
			// until a dry run is refused (or, for Ignore, the webhook saw
			// a request, or a little while).
			var err error
			var took time.Duration
			waitFor(t, "the webhook to be in effect", func() bool {
				start := time.Now()
				_, err = srv.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMap(fmt.Sprintf("cm-%d", time.Now().UnixNano()), nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
				took = time.Since(start)
				return err != nil || tc.want == "" && (tc.url == dead || tc.within > 0 && took > time.Second || len(ws.seen(tc.url[len(ws.URL):])) > 0)
			})
			_, err = srv.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMap("cm", nil), metav1.CreateOptions{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("write refused: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if !apierrors.IsInternalError(err) {
				t.Errorf("status %v, want 500 InternalError", apierrors.ReasonForError(err))
			}
			if tc.within > 0 && took > tc.within {
				t.Errorf("refused after %v, want within %v", took, tc.within)
			}
		})
	}
}

// TestDryRun: webhooks without side effects see dryRun true and nothing
// is stored.
func TestDryRun(t *testing.T) {
	srv := clustertest.Start(t)
	ws := startWebhookServer(t, routes())
	ctx := context.Background()
	ns := namespace(t, srv.Client, "dry")
	h := hookFor("allow.example.com", ws.URL+"/allow", ws.caBundle(), ns, regv1.Fail, 10)
	h.SideEffects = ptr(regv1.SideEffectClassNoneOnDryRun)
	v := &regv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "dry"}, Webhooks: []regv1.ValidatingWebhook{h}}
	if _, err := srv.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, v, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the webhook to be called", func() bool {
		if _, err := srv.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMap("cm", nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatal(err)
		}
		return len(ws.seen("/allow")) > 0
	})
	req := ws.seen("/allow")[0]
	if req.DryRun == nil || !*req.DryRun {
		t.Errorf("webhook saw dryRun %v", req.DryRun)
	}
	if req.Operation != admissionv1.Create || req.Namespace != ns || req.Kind.Kind != "ConfigMap" || req.Resource.Resource != "configmaps" {
		t.Errorf("request %s %s/%s %v %v", req.Operation, req.Namespace, req.Name, req.Kind, req.Resource)
	}
	if req.UserInfo.Username != "system:admin" {
		t.Errorf("user %q", req.UserInfo.Username)
	}
	if _, err := srv.Client.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry run stored the object: %v", err)
	}
}

// TestWarningsAndDenial through client-go: a denial's message and status,
// an allowed write's warnings.
func TestWarningsAndDenial(t *testing.T) {
	srv := clustertest.Start(t)
	ws := startWebhookServer(t, routes())
	ctx := context.Background()
	ns := namespace(t, srv.Client, "warn")
	h := hookFor("deny.example.com", ws.URL+"/deny", ws.caBundle(), ns, regv1.Fail, 10)
	v := &regv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "deny"}, Webhooks: []regv1.ValidatingWebhook{h}}
	if _, err := srv.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, v, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	cfg := rest.CopyConfig(srv.Config)
	cfg.WarningHandler = warningFunc(func(msg string) { warnings = append(warnings, msg) })
	c := kubernetes.NewForConfigOrDie(cfg)
	var err error
	waitFor(t, "the webhook to refuse", func() bool {
		_, err = c.CoreV1().ConfigMaps(ns).Create(ctx, configMap("bad", map[string]string{"forbidden": "1"}), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil
	})
	want := `admission webhook "deny.example.com" denied the request: label forbidden is not allowed`
	if err.Error() != want || !apierrors.IsBadRequest(err) {
		t.Errorf("got %v (%v), want %q (400)", err, apierrors.ReasonForError(err), want)
	}
	warnings = nil
	if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, configMap("good", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || warnings[0] != "checked by deny.example.com" {
		t.Errorf("warnings %q", warnings)
	}
}

type warningFunc func(string)

func (f warningFunc) HandleWarningHeader(_ int, _ string, msg string) { f(msg) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
