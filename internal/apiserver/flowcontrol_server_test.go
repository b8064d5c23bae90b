package apiserver_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestFlowControl drives flowcontrol.apiserver.k8s.io/v1 with client-go
// as upstream's conformance specs and a cluster admin do: the bootstrap
// configuration is there, schemas and levels go through create, status
// and delete, a bad one gets a 422 naming the field, and every response
// names the schema and level its request was classified into.
func TestFlowControl(t *testing.T) {
	s := clustertest.Start(t)
	ctx := context.Background()
	fc := s.Client.FlowcontrolV1()

	t.Run("bootstrap", func(t *testing.T) {
		for _, name := range []string{"exempt", "probes", "system-leader-election", "system-node-high", "system-nodes", "kube-controller-manager", "kube-scheduler", "kube-system-service-accounts", "service-accounts", "global-default", "catch-all"} {
			fs, err := fc.FlowSchemas().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("flow schema %s: %v", name, err)
			}
			if fs.Annotations[flowcontrolv1.AutoUpdateAnnotationKey] != "true" {
				t.Errorf("flow schema %s annotations %v", name, fs.Annotations)
			}
		}
		for _, name := range []string{"exempt", "system", "node-high", "leader-election", "workload-high", "workload-low", "global-default", "catch-all"} {
			if _, err := fc.PriorityLevelConfigurations().Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Fatalf("priority level %s: %v", name, err)
			}
		}
	})

	pl, err := fc.PriorityLevelConfigurations().Create(ctx, &flowcontrolv1.PriorityLevelConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "test-level"},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
			Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
				NominalConcurrencyShares: ptr.To[int32](1),
				LimitResponse:            flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q := pl.Spec.Limited.LimitResponse.Queuing; q.Queues != 64 || q.HandSize != 8 || q.QueueLengthLimit != 50 || *pl.Spec.Limited.LendablePercent != 0 || pl.Generation != 1 {
		t.Errorf("defaults: %+v, generation %d", pl.Spec.Limited, pl.Generation)
	}
	fs, err := fc.FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "test-schema"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "test-level"},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects:         []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: "noxu"}}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
			}},
		},
		Status: flowcontrolv1.FlowSchemaStatus{Conditions: []flowcontrolv1.FlowSchemaCondition{{Type: "Ignored", Status: "True"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fs.Spec.MatchingPrecedence != 1000 || len(fs.Status.Conditions) != 0 {
		t.Errorf("created: precedence %d (want the default 1000), status %+v (a create's is dropped)", fs.Spec.MatchingPrecedence, fs.Status)
	}

	t.Run("dangling", func(t *testing.T) {
		waitDangling(t, s, "test-schema", flowcontrolv1.ConditionFalse)
		if _, err := fc.FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{
			ObjectMeta: metav1.ObjectMeta{Name: "orphan"},
			Spec: flowcontrolv1.FlowSchemaSpec{
				MatchingPrecedence:         500,
				PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "no-such-level"},
			},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitDangling(t, s, "orphan", flowcontrolv1.ConditionTrue)
		out := s.MustKubectl("get", "flowschemas")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if h := strings.Join(strings.Fields(lines[0]), " "); h != "NAME PRIORITYLEVEL MATCHINGPRECEDENCE DISTINGUISHERMETHOD AGE MISSINGPL" {
			t.Errorf("header %q", h)
		}
		// In matching order: exempt first, catch-all last.
		if !strings.HasPrefix(lines[1], "exempt ") || !strings.HasPrefix(lines[len(lines)-1], "catch-all ") {
			t.Errorf("order:\n%s", out)
		}
		if !strings.Contains(out, "orphan") || !regexpLine(out, `orphan +no-such-level +500 +<none> +\S+ +True`) {
			t.Errorf("orphan's row:\n%s", out)
		}
	})

	t.Run("headers", func(t *testing.T) {
		if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			h := requestAs(t, s, "noxu")
			return h.Get("X-Kubernetes-PF-FlowSchema-UID") == string(fs.UID) && h.Get("X-Kubernetes-PF-PriorityLevel-UID") == string(pl.UID), nil
		}); err != nil {
			t.Fatalf("noxu's request not classified into test-schema: %v", requestAs(t, s, "noxu"))
		}
		def, err := fc.FlowSchemas().Get(ctx, "global-default", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if h := requestAs(t, s, "foo"); h.Get("X-Kubernetes-PF-FlowSchema-UID") != string(def.UID) || h.Get("X-Kubernetes-PF-PriorityLevel-UID") == "" {
			t.Errorf("foo's request: %v, want global-default %s", h, def.UID)
		}
		metrics, err := s.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(metrics), `apiserver_flowcontrol_nominal_limit_seats{priority_level="test-level"}`) {
			t.Error("no nominal limit metric for test-level")
		}
	})

	t.Run("status", func(t *testing.T) {
		cur, err := fc.FlowSchemas().Get(ctx, "test-schema", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Status.Conditions = append(cur.Status.Conditions, flowcontrolv1.FlowSchemaCondition{Type: "Extra", Status: flowcontrolv1.ConditionFalse, Reason: "Test"})
		cur.Spec.MatchingPrecedence = 42 // not through status
		cur.Labels = map[string]string{"ignored": "true"}
		got, err := fc.FlowSchemas().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Status.Conditions) != 2 || got.Spec.MatchingPrecedence != 1000 || got.Labels["ignored"] != "" {
			t.Errorf("status update: %+v, precedence %d, labels %v", got.Status, got.Spec.MatchingPrecedence, got.Labels)
		}
		cur.Status.Conditions = append(cur.Status.Conditions, flowcontrolv1.FlowSchemaCondition{Type: "Extra"})
		cur.ResourceVersion = got.ResourceVersion
		_, err = fc.FlowSchemas().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		wantInvalid(t, err, "status.conditions[2].type")
	})

	t.Run("invalid", func(t *testing.T) {
		_, err := fc.FlowSchemas().Create(ctx, &flowcontrolv1.FlowSchema{
			ObjectMeta: metav1.ObjectMeta{Name: "bad"},
			Spec: flowcontrolv1.FlowSchemaSpec{
				MatchingPrecedence: 1,
				Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
					Subjects:      []flowcontrolv1.Subject{{Kind: "Robot"}},
					ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}},
				}},
			},
		}, metav1.CreateOptions{})
		wantInvalid(t, err, "spec.matchingPrecedence", "spec.priorityLevelConfiguration.name", "spec.rules[0].subjects[0].kind", "spec.rules[0].resourceRules[0].namespaces")
		_, err = fc.PriorityLevelConfigurations().Create(ctx, &flowcontrolv1.PriorityLevelConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "bad"},
			Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
				Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
					LendablePercent: ptr.To[int32](101),
					LimitResponse:   flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 4, HandSize: 5}},
				},
			},
		}, metav1.CreateOptions{})
		wantInvalid(t, err, "spec.limited.limitResponse.queuing.handSize", "spec.limited.lendablePercent")
		// The mandatory objects' specs are fixed.
		catchAll, err := fc.FlowSchemas().Get(ctx, "catch-all", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		catchAll.Spec.MatchingPrecedence = 9999
		_, err = fc.FlowSchemas().Update(ctx, catchAll, metav1.UpdateOptions{})
		wantInvalid(t, err, "spec")
	})

	t.Run("mandatory objects come back", func(t *testing.T) {
		if err := fc.PriorityLevelConfigurations().Delete(ctx, "catch-all", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			_, err := fc.PriorityLevelConfigurations().Get(ctx, "catch-all", metav1.GetOptions{})
			return err == nil, nil
		}); err != nil {
			t.Fatal("catch-all priority level not recreated")
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := fc.PriorityLevelConfigurations().Delete(ctx, "test-level", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitDangling(t, s, "test-schema", flowcontrolv1.ConditionTrue)
		if err := fc.FlowSchemas().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{FieldSelector: "metadata.name=test-schema"}); err != nil {
			t.Fatal(err)
		}
		if _, err := fc.FlowSchemas().Get(ctx, "test-schema", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after delete: %v", err)
		}
	})
}

// waitDangling waits until the schema's Dangling condition has status.
func waitDangling(t *testing.T, s *clustertest.Server, name string, status flowcontrolv1.ConditionStatus) {
	t.Helper()
	var last *flowcontrolv1.FlowSchema
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		fs, err := s.Client.FlowcontrolV1().FlowSchemas().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = fs
		for _, c := range fs.Status.Conditions {
			if c.Type == flowcontrolv1.FlowSchemaConditionDangling {
				return c.Status == status, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("flow schema %s: Dangling not %s: %v (status %+v)", name, status, err, last)
	}
}

// requestAs gets /version impersonating user, as upstream's spec does,
// and returns the response's headers.
func requestAs(t *testing.T, s *clustertest.Server, user string) http.Header {
	t.Helper()
	cfg := rest.CopyConfig(s.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+"/version", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header
}

// wantInvalid checks err is a 422 naming exactly fields, in order.
func wantInvalid(t *testing.T, err error, fields ...string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("got %v, want 422", err)
	}
	var got []string
	for _, c := range err.(apierrors.APIStatus).Status().Details.Causes {
		got = append(got, c.Field)
	}
	if strings.Join(got, " ") != strings.Join(fields, " ") {
		t.Errorf("422 on %v, want %v (%v)", got, fields, err)
	}
}

func regexpLine(out, pattern string) bool {
	return regexp.MustCompile(`(?m)^` + pattern + `$`).MatchString(out)
}
