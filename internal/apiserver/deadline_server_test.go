package apiserver_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	regv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// deadlineTestTimeout is the test server's --request-timeout: short, so
// that a request without ?timeout= ends in a test's time.
const deadlineTestTimeout = 3 * time.Second

// TestRequestDeadline: a create held up by a validating webhook that
// never answers gets upstream's 504 when its deadline passes (?timeout=
// when shorter than --request-timeout, else --request-timeout), and the
// object is not stored, whatever the webhook's failure policy.
func TestRequestDeadline(t *testing.T) {
	srv := clustertest.Start(t, func(o *cluster.ServerOptions) { o.RequestTimeout = deadlineTestTimeout })
	var calls atomic.Int64
	release := make(chan struct{})
	url, ca := startTLSWebhook(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select { // hang until the API server gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before the webhook server closes
	ctx := context.Background()
	const want = "Timeout: request did not complete within requested timeout - context deadline exceeded"

	for _, policy := range []regv1.FailurePolicyType{regv1.Fail, regv1.Ignore} {
		ns := "deadline-" + strings.ToLower(string(policy))
		hangOn(t, srv, ns, url, ca, policy)
		// Counted anew for each policy: the first policy's calls would
		// not say that this one's configuration is in effect yet.
		calls.Store(0)
		waitFor(t, "the webhook to be called", func() bool {
			createConfigMap(ctx, srv, ns, "probe", "1s", true)
			return calls.Load() > 0
		})
		cases := []struct {
			name, timeout string
			within        time.Duration
		}{
			{name: "asked-2s", timeout: "2s", within: 2 * time.Second},
			{name: "server-default", timeout: "", within: deadlineTestTimeout},
			{name: "asked-longer-is-capped", timeout: "10m", within: deadlineTestTimeout},
		}
		for _, tc := range cases {
			t.Run(string(policy)+"/"+tc.name, func(t *testing.T) {
				start := time.Now()
				err := createConfigMap(ctx, srv, ns, tc.name, tc.timeout, false)
				took := time.Since(start)
				if !apierrors.IsTimeout(err) || err.Error() != want {
					t.Fatalf("got %v (%s), want 504 %q", err, apierrors.ReasonForError(err), want)
				}
				if code := errorCode(err); code != http.StatusGatewayTimeout {
					t.Errorf("code %d, want 504", code)
				}
				if took < tc.within-100*time.Millisecond || took > tc.within+time.Second {
					t.Errorf("answered after %v, want about %v", took, tc.within)
				}
				if _, err := srv.Client.CoreV1().ConfigMaps(ns).Get(ctx, tc.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("get after the timeout: %v, want NotFound (nothing stored)", err)
				}
			})
		}
	}

	t.Run("invalid-timeout", func(t *testing.T) {
		err := createConfigMap(ctx, srv, "default", "bad", "5", false)
		const want = `invalid timeout specified in the request URL - time: missing unit in duration "5"`
		if !apierrors.IsBadRequest(err) || err.Error() != want {
			t.Fatalf("got %v, want 400 %q", err, want)
		}
	})
}

// TestWatchOutlivesRequestTimeout: a watch is long-running; it stays open
// and delivers events past --request-timeout.
func TestWatchOutlivesRequestTimeout(t *testing.T) {
	srv := clustertest.Start(t, func(o *cluster.ServerOptions) { o.RequestTimeout = time.Second })
	ctx := context.Background()
	w, err := srv.Client.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	past := time.After(3 * time.Second)
	for waiting := true; waiting; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				t.Fatalf("the watch ended before --request-timeout passed twice: %v", ev.Object)
			}
		case <-past:
			waiting = false
		}
	}
	if _, err := srv.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the watch ended before its event")
			}
			if cm, isCM := ev.Object.(*corev1.ConfigMap); ev.Type == watch.Added && isCM && cm.Name == "late" {
				return
			}
		case <-deadline:
			t.Fatal("no event for the configmap created after --request-timeout")
		}
	}
}

// hangOn makes namespace ns, whose configmap creates go to the webhook
// at url.
func hangOn(t *testing.T, srv *clustertest.Server, ns, url string, ca []byte, policy regv1.FailurePolicyType) {
	t.Helper()
	ctx := context.Background()
	if _, err := srv.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"hang": ns}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	timeout := int32(30) // longer than every request's deadline
	none := regv1.SideEffectClassNone
	cfg := &regv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: ns}, Webhooks: []regv1.ValidatingWebhook{{
		Name:         "hang.example.com",
		ClientConfig: regv1.WebhookClientConfig{URL: &url, CABundle: ca},
		Rules: []regv1.RuleWithOperations{{
			Operations: []regv1.OperationType{regv1.Create},
			Rule:       regv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
		}},
		NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"hang": ns}},
		FailurePolicy:           &policy,
		SideEffects:             &none,
		TimeoutSeconds:          &timeout,
		AdmissionReviewVersions: []string{"v1"},
	}}}
	if _, err := srv.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createConfigMap creates configmap name in ns with the ?timeout= given
// ("" for none). The client itself sets no deadline, so the answer is
// the server's.
func createConfigMap(ctx context.Context, srv *clustertest.Server, ns, name, timeout string, dryRun bool) error {
	req := srv.Client.CoreV1().RESTClient().Post().Namespace(ns).Resource("configmaps").
		Body(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if timeout != "" {
		req = req.Param("timeout", timeout)
	}
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	return req.Do(ctx).Error()
}

func errorCode(err error) int32 {
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Code
	}
	return 0
}
