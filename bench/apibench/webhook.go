package apibench

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// webhookServer is a validating admission webhook on loopback (HTTPS,
// httptest's throwaway certificate) that allows every request. It runs
// in the benchmark's process, on the cores the server uses, so it does
// as little as a webhook can: it reads only the request's uid and
// answers with a response encoded once, the uid spliced in.
type webhookServer struct {
	*httptest.Server
	calls atomic.Int64
}

// allowHead and allowTail frame the uid in every answer.
const (
	allowHead = `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":`
	allowTail = `,"allowed":true}}`
)

// reviewUID is the part of an AdmissionReview the webhook reads.
type reviewUID struct {
	Request *struct {
		UID string `json:"uid"`
	} `json:"request"`
}

func startWebhook() *webhookServer {
	ws := &webhookServer{}
	ws.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		var review reviewUID
		if err == nil {
			err = json.Unmarshal(body, &review)
		}
		if err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		ws.calls.Add(1)
		uid, _ := json.Marshal(review.Request.UID)
		out := make([]byte, 0, len(allowHead)+len(uid)+len(allowTail))
		out = append(append(append(out, allowHead...), uid...), allowTail...)
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	}))
	ws.EnableHTTP2 = true
	ws.StartTLS()
	return ws
}

// installWebhook registers a validating webhook for every pod create in
// ns, served by a loopback server of its own, and waits until the server
// calls it, so that every measured create pays for it. The returned
// server is closed by the caller after the run.
func installWebhook(ctx context.Context, c *client, ns string) (*webhookServer, error) {
	ws := startWebhook()
	url := ws.URL + "/validate"
	none := admissionregistrationv1.SideEffectClassNone
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "apibench-pods"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "pods.apibench.kemudi.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL:      &url,
				CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ws.Certificate().Raw}),
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if _, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		ws.Close()
		return nil, fmt.Errorf("create the webhook configuration: %w", err)
	}
	probe := smallPod(ns, "apibench-webhook-probe")
	deadline := time.Now().Add(30 * time.Second)
	for ws.calls.Load() == 0 {
		if _, err := c.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			ws.Close()
			return nil, fmt.Errorf("probe create: %w", err)
		}
		if time.Now().After(deadline) {
			ws.Close()
			return nil, fmt.Errorf("the webhook is not called")
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			ws.Close()
			return nil, err
		}
	}
	return ws, nil
}
