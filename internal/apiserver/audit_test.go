package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/apiserver/audit"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version", "/openapi/*", "/api", "/api/*", "/apis", "/apis/*"]
- level: None
  resources: [{group: "", resources: [events]}, {group: coordination.k8s.io, resources: [leases]}]
- level: RequestResponse
  resources: [{group: "", resources: [configmaps]}]
  omitManagedFields: true
- level: Metadata
  resources: [{group: "", resources: [secrets]}]
  omitStages: [RequestReceived]
- level: Metadata
`

// readAudit returns the events in the log at path.
func readAudit(t *testing.T, path string) []audit.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []audit.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var ev audit.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log line %q: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// waitAudit waits for the events match picks out; the last stage of a
// request is written once its response is sent, so a moment after the
// client has it.
func waitAudit(t *testing.T, path string, want int, match func(audit.Event) bool) []audit.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []audit.Event
		for _, ev := range readAudit(t, path) {
			if match(ev) {
				got = append(got, ev)
			}
		}
		if len(got) >= want {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d audit events match, want %d", len(got), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stages(evs []audit.Event) string {
	var s []string
	for _, ev := range evs {
		s = append(s, string(ev.Stage))
	}
	return strings.Join(s, ",")
}

// TestAuditLog drives a server with a policy file and a log by kubectl
// and client-go, and reads the log as a user would.
func TestAuditLog(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "log", "audit.log")
	s := clustertest.Start(t, func(o *cluster.ServerOptions) {
		o.Audit = cluster.AuditOptions{PolicyFile: policy}
		o.Audit.Path = logPath
	})
	ctx := context.Background()
	byVerb := func(verb, resource, name string) func(audit.Event) bool {
		return func(ev audit.Event) bool {
			return ev.Verb == verb && ev.ObjectRef != nil && ev.ObjectRef.Resource == resource && (name == "" || ev.ObjectRef.Name == name)
		}
	}

	t.Run("RequestResponse", func(t *testing.T) {
		s.MustKubectl("create", "configmap", "cm1", "--from-literal=colour=blue")
		// The user's own create: the server writes configmaps of its own
		// (extension-apiserver-authentication; kube-public's cluster-info,
		// as system:admin).
		evs := waitAudit(t, logPath, 2, func(ev audit.Event) bool {
			return ev.Verb == "create" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "configmaps" && ev.ObjectRef.Namespace == "default" && ev.User.Username == "system:admin"
		})
		if stages(evs) != "RequestReceived,ResponseComplete" {
			t.Fatalf("stages %s", stages(evs))
		}
		rr, done := evs[0], evs[1]
		if rr.AuditID == "" || rr.AuditID != done.AuditID {
			t.Errorf("audit IDs %q %q", rr.AuditID, done.AuditID)
		}
		// A create names its object from the body, as upstream: not yet
		// when received, by the time it completes.
		if rr.ObjectRef.Name != "" || done.ObjectRef.Name != "cm1" || done.ObjectRef.Namespace != "default" {
			t.Errorf("objectRef received %+v, completed %+v; want the name cm1 when completed", *rr.ObjectRef, *done.ObjectRef)
		}
		if rr.RequestObject != nil || rr.ResponseStatus != nil {
			t.Errorf("RequestReceived carries the outcome: %+v", rr)
		}
		if done.Level != audit.LevelRequestResponse || done.User.Username != "system:admin" || done.ResponseStatus == nil || done.ResponseStatus.Code != 201 {
			t.Errorf("ResponseComplete: %+v", done)
		}
		if done.ObjectRef.Namespace != "default" || done.ObjectRef.APIVersion != "v1" || done.RequestURI == "" || done.UserAgent == "" || len(done.SourceIPs) == 0 || done.SourceIPs[0] != "127.0.0.1" {
			t.Errorf("request fields: %+v %+v", done, done.ObjectRef)
		}
		if !strings.Contains(string(done.RequestObject), `"colour":"blue"`) {
			t.Errorf("requestObject %s", done.RequestObject)
		}
		var resp corev1.ConfigMap
		if err := json.Unmarshal(done.ResponseObject, &resp); err != nil || resp.UID == "" || resp.Data["colour"] != "blue" {
			t.Errorf("responseObject %s: %v", done.ResponseObject, err)
		}
		if strings.Contains(string(done.ResponseObject), "managedFields") {
			t.Errorf("omitManagedFields: %s", done.ResponseObject)
		}
		if done.Annotations["authorization.k8s.io/decision"] != "allow" {
			t.Errorf("annotations %v", done.Annotations)
		}
		if !done.StageTimestamp.Time.After(done.RequestReceivedTimestamp.Time) && !done.StageTimestamp.Equal(&done.RequestReceivedTimestamp) {
			t.Errorf("timestamps %v %v", done.RequestReceivedTimestamp, done.StageTimestamp)
		}
	})

	t.Run("protobuf body logged as JSON", func(t *testing.T) {
		pc := kubernetes.NewForConfigOrDie(s.ProtobufConfig())
		if _, err := pc.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm2"}, Data: map[string]string{"k": "proto"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		evs := waitAudit(t, logPath, 1, func(ev audit.Event) bool {
			return ev.Stage == audit.StageResponseComplete && ev.Verb == "create" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "configmaps" && strings.Contains(string(ev.RequestObject), "proto")
		})
		if !strings.Contains(string(evs[0].RequestObject), `"k":"proto"`) || !strings.Contains(string(evs[0].ResponseObject), `"k":"proto"`) {
			t.Errorf("request %s response %s", evs[0].RequestObject, evs[0].ResponseObject)
		}
	})

	t.Run("Metadata without RequestReceived", func(t *testing.T) {
		s.MustKubectl("create", "secret", "generic", "s1", "--from-literal=password=hunter2")
		evs := waitAudit(t, logPath, 1, byVerb("create", "secrets", ""))
		if stages(evs) != "ResponseComplete" || evs[0].Level != audit.LevelMetadata || evs[0].RequestObject != nil || evs[0].ResponseObject != nil {
			t.Errorf("secret create: %+v", evs)
		}
		raw, _ := os.ReadFile(logPath)
		if strings.Contains(string(raw), "hunter2") || strings.Contains(string(raw), "aHVudGVyMg") {
			t.Error("the secret's value is in the audit log")
		}
	})

	t.Run("impersonation refused", func(t *testing.T) {
		if _, err := s.Kubectl("get", "pods", "--as=vera"); err == nil {
			t.Fatal("vera listed pods")
		}
		// As upstream, the RequestReceived event comes before the
		// impersonation is looked at: only the last stage names vera.
		evs := waitAudit(t, logPath, 1, func(ev audit.Event) bool { return ev.ImpersonatedUser != nil && ev.ImpersonatedUser.Username == "vera" })
		done := evs[len(evs)-1]
		if done.Stage != audit.StageResponseComplete {
			t.Errorf("stage %s", done.Stage)
		}
		if done.User.Username != "system:admin" || done.ResponseStatus.Code != 403 || done.ResponseStatus.Reason != metav1.StatusReasonForbidden ||
			!strings.Contains(done.ResponseStatus.Message, `User "vera" cannot list resource "pods"`) || done.Annotations["authorization.k8s.io/decision"] != "forbid" {
			t.Errorf("impersonated list: %+v", done)
		}
	})

	t.Run("PodSecurity annotations", func(t *testing.T) {
		s.MustKubectl("create", "ns", "team-a")
		s.MustKubectl("label", "ns", "team-a", "pod-security.kubernetes.io/enforce=restricted")
		if _, err := s.Kubectl("-n", "team-a", "run", "bad", "--image=x", "--privileged"); err == nil {
			t.Fatal("privileged pod admitted")
		}
		evs := waitAudit(t, logPath, 1, func(ev audit.Event) bool {
			return ev.Stage == audit.StageResponseComplete && ev.Verb == "create" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" && ev.ObjectRef.Namespace == "team-a"
		})
		ev := evs[0]
		if ev.ResponseStatus.Code != 403 || !strings.Contains(ev.ResponseStatus.Message, `violates PodSecurity "restricted:latest"`) ||
			ev.Annotations["pod-security.kubernetes.io/enforce-policy"] != "restricted:latest" {
			t.Errorf("refused pod: %+v", ev)
		}
	})

	t.Run("watch has ResponseStarted", func(t *testing.T) {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		w, err := s.Client.CoreV1().Pods("default").Watch(wctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitAudit(t, logPath, 2, func(ev audit.Event) bool {
			return ev.Verb == "watch" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" && ev.ObjectRef.Namespace == "default"
		})
		w.Stop()
		evs := waitAudit(t, logPath, 3, func(ev audit.Event) bool {
			return ev.Verb == "watch" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" && ev.ObjectRef.Namespace == "default"
		})
		if stages(evs) != "RequestReceived,ResponseStarted,ResponseComplete" || evs[2].ResponseObject != nil {
			t.Errorf("watch stages %s", stages(evs))
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		if _, err := s.TokenIdentity("bad", "not-a-token").Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
			t.Fatalf("list with a bad token: %v, want 401", err)
		}
		evs := waitAudit(t, logPath, 1, func(ev audit.Event) bool { return ev.ResponseStatus != nil && ev.ResponseStatus.Code == 401 })
		if evs[0].Stage != audit.StageResponseStarted || evs[0].User.Username != "" || evs[0].Verb != "list" {
			t.Errorf("401: %+v", evs[0])
		}
	})

	// A request without credentials is system:anonymous, refused by
	// RBAC: logged as upstream logs it, with the user and the decision.
	t.Run("anonymous", func(t *testing.T) {
		if _, err := s.AnonymousIdentity().Client.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("anonymous list: %v, want 403", err)
		}
		evs := waitAudit(t, logPath, 1, func(ev audit.Event) bool {
			return ev.User.Username == "system:anonymous" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "secrets" && ev.Stage == audit.StageResponseComplete
		})
		ev := evs[0]
		if !slices.Equal(ev.User.Groups, []string{"system:unauthenticated"}) || ev.Verb != "list" || ev.ResponseStatus == nil || ev.ResponseStatus.Code != 403 ||
			ev.Annotations["authorization.k8s.io/decision"] != "forbid" {
			t.Errorf("anonymous 403: %+v", ev)
		}
	})

	t.Run("None", func(t *testing.T) {
		for _, ev := range readAudit(t, logPath) {
			if ev.RequestURI == "/healthz" || ev.RequestURI == "/api" || ev.ObjectRef != nil && ev.ObjectRef.Resource == "events" {
				t.Errorf("a None request is logged: %+v", ev)
			}
			if ev.Level == audit.LevelNone || ev.APIVersion != "audit.k8s.io/v1" || ev.Kind != "Event" {
				t.Errorf("event %+v", ev)
			}
		}
	})
}
