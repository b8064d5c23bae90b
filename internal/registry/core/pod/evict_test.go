package pod

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/registrytest"
)

// runningPod is newPod scheduled and running, Ready or not.
func runningPod(ready bool) *corev1.Pod {
	p := newPod()
	p.Spec.NodeName = "node-1"
	p.Status.Phase = corev1.PodRunning
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

// budget is a disruption budget over run=web pods whose controller has
// seen its last change.
func budget(name string, allowed, desired, current int32) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Generation: 1},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"run": "web"}}},
		Status: policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, DisruptionsAllowed: allowed,
			DesiredHealthy: desired, CurrentHealthy: current},
	}
}

func TestEvict(t *testing.T) {
	eviction := func(opts *metav1.DeleteOptions) *policyv1.Eviction {
		return &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, DeleteOptions: opts}
	}
	unseen := budget("web", 1, 2, 3)
	unseen.Generation = 2
	alwaysAllow := budget("web", 0, 2, 1)
	alwaysAllow.Spec.UnhealthyPodEvictionPolicy = ptr(policyv1.AlwaysAllow)
	otherApp := budget("other", 0, 2, 2)
	otherApp.Spec.Selector.MatchLabels = map[string]string{"run": "other"}
	everyPod := budget("all", 0, 1, 1)
	everyPod.Spec.Selector = &metav1.LabelSelector{}
	deleting := runningPod(true)
	deleting.DeletionTimestamp = &metav1.Time{}
	tests := []struct {
		name     string
		pod      *corev1.Pod // nil: no pod
		budgets  []*policyv1.PodDisruptionBudget
		noPDBs   bool // the server serves no disruption budgets
		eviction *policyv1.Eviction
		dryRun   bool

		wantCode    int32  // 0: evicted
		wantMessage string // the error's message or its cause's
		wantDeleted bool   // a delete reached the store (dry runs included)
		wantAllowed int32  // the first budget's disruptionsAllowed after
		wantRV      bool   // the delete is conditional on the pod as the eviction left it
	}{{
		name: "a pending pod goes without asking its budget", pod: newPod(), budgets: []*policyv1.PodDisruptionBudget{budget("web", 0, 1, 0)},
		eviction: eviction(nil), wantDeleted: true, wantAllowed: 0, wantRV: true,
	}, {
		name: "a pod already being deleted goes again", pod: deleting, budgets: []*policyv1.PodDisruptionBudget{budget("web", 0, 1, 0)},
		eviction: eviction(nil), wantDeleted: true,
	}, {
		name: "a running pod without a budget goes", pod: runningPod(true), eviction: eviction(nil), wantDeleted: true,
	}, {
		name: "a budget over other pods does not count", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{otherApp},
		eviction: eviction(nil), wantDeleted: true,
	}, {
		name: "no budgets served: the pod goes", pod: runningPod(true), noPDBs: true, eviction: eviction(nil), wantDeleted: true,
	}, {
		name: "a budget with a disruption to give takes it", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{budget("web", 1, 2, 3)},
		eviction: eviction(nil), wantDeleted: true, wantAllowed: 0,
	}, {
		name: "a budget with none to give: 429 naming it", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{budget("web", 0, 2, 2)},
		eviction: eviction(nil), wantCode: http.StatusTooManyRequests,
		wantMessage: "The disruption budget web needs 2 healthy pods and has 2 currently",
	}, {
		name: "a budget its controller has not seen yet: 429", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{unseen},
		eviction: eviction(nil), wantCode: http.StatusTooManyRequests, wantAllowed: 1,
		wantMessage: "The disruption budget web is still being processed by the server.",
	}, {
		name: "a negative budget: 403", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{budget("web", -1, 2, 1)},
		eviction: eviction(nil), wantCode: http.StatusForbidden, wantAllowed: -1, wantMessage: "pdb disruptions allowed is negative",
	}, {
		name: "two budgets: 500", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{budget("a", 1, 1, 2), budget("b", 1, 1, 2)},
		eviction: eviction(nil), wantCode: http.StatusInternalServerError, wantAllowed: 1,
		wantMessage: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
	}, {
		name: "an unready pod of a healthy budget goes, if unchanged", pod: runningPod(false), budgets: []*policyv1.PodDisruptionBudget{budget("web", 0, 2, 2)},
		eviction: eviction(nil), wantDeleted: true, wantRV: true,
	}, {
		name: "an unready pod of an unhealthy AlwaysAllow budget goes, if unchanged", pod: runningPod(false), budgets: []*policyv1.PodDisruptionBudget{alwaysAllow},
		eviction: eviction(nil), wantDeleted: true, wantRV: true,
	}, {
		name: "an unready pod of an unhealthy budget needs a disruption", pod: runningPod(false), budgets: []*policyv1.PodDisruptionBudget{budget("web", 0, 2, 1)},
		eviction: eviction(nil), wantCode: http.StatusTooManyRequests,
		wantMessage: "The disruption budget web needs 2 healthy pods and has 1 currently",
	}, {
		name: "the client's stale resourceVersion: 409", pod: newPod(),
		eviction: eviction(&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr("7")}}), wantCode: http.StatusConflict,
		wantMessage: "the ResourceVersion in the precondition (7) does not match the ResourceVersion in record (1). The object might have been modified",
	}, {
		name: "the client's stale uid: 409", pod: runningPod(true),
		eviction: eviction(&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(types.UID("u0"))}}), wantCode: http.StatusConflict,
		wantMessage: "the UID in the precondition (u0) does not match the UID in record (u1)",
	}, {
		name: "an unready pod: the eviction's own precondition replaces the client's, as upstream", pod: runningPod(false),
		budgets:  []*policyv1.PodDisruptionBudget{budget("web", 0, 2, 2)},
		eviction: eviction(&metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr("7")}}), wantDeleted: true, wantRV: true,
	}, {
		name: "a dry run judges and changes nothing", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{budget("web", 1, 2, 3)},
		eviction: eviction(nil), dryRun: true, wantDeleted: true, wantAllowed: 1,
	}, {
		name: "a dry run of a pending pod", pod: newPod(), eviction: eviction(nil), dryRun: true, wantDeleted: true, wantRV: true,
	}, {
		name: "an empty selector covers every pod", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{everyPod},
		eviction: eviction(nil), wantCode: http.StatusTooManyRequests,
	}, {
		name: "a dry run in the delete options too", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{budget("web", 1, 2, 3)},
		eviction: eviction(&metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}), wantDeleted: true, wantAllowed: 1,
	}, {
		name: "a dry run is refused as the eviction would be", pod: runningPod(true), budgets: []*policyv1.PodDisruptionBudget{budget("web", 0, 2, 2)},
		eviction: eviction(nil), dryRun: true, wantCode: http.StatusTooManyRequests,
		wantMessage: "The disruption budget web needs 2 healthy pods and has 2 currently",
	}, {
		name: "another name in the body: 400", pod: runningPod(true),
		eviction: &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, wantCode: http.StatusBadRequest,
		wantMessage: "name in URL does not match name in Eviction object",
	}, {
		name: "no such pod: 404", eviction: eviction(nil), wantCode: http.StatusNotFound, wantMessage: `pods "web" not found`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := registrytest.NewStore()
			if tt.pod != nil {
				store.Add(podsGVR, tt.pod.DeepCopy()) // resourceVersion 1
			}
			for _, b := range tt.budgets {
				store.Add(budgetsGVR, b.DeepCopy())
			}
			if tt.noPDBs {
				store.Served = map[schema.GroupVersionResource]bool{podsGVR: true}
			}
			err := Evict(context.Background(), store, "default", "web", tt.eviction.DeepCopy(), tt.dryRun)
			checkStatus(t, err, tt.wantCode, tt.wantMessage)
			if got := len(store.Deleted) > 0; got != tt.wantDeleted {
				t.Fatalf("deleted %v, want %v", got, tt.wantDeleted)
			}
			if len(tt.budgets) > 0 {
				b := store.Object(budgetsGVR, "default", tt.budgets[0].Name).(*policyv1.PodDisruptionBudget)
				if b.Status.DisruptionsAllowed != tt.wantAllowed {
					t.Errorf("disruptionsAllowed %d, want %d", b.Status.DisruptionsAllowed, tt.wantAllowed)
				}
				_, taken := b.Status.DisruptedPods["web"]
				if want := b.Status.DisruptionsAllowed < tt.budgets[0].Status.DisruptionsAllowed; taken != want {
					t.Errorf("disruptedPods %v: web listed %v, want %v", b.Status.DisruptedPods, taken, want)
				}
			}
			if !tt.wantDeleted {
				return
			}
			d := store.Deleted[0]
			dry := tt.dryRun || (tt.eviction.DeleteOptions != nil && len(tt.eviction.DeleteOptions.DryRun) > 0)
			if got := len(d.Options.DryRun) > 0; got != dry {
				t.Errorf("delete dryRun %v, want %v", d.Options.DryRun, dry)
			}
			var rv *string
			if p := d.Options.Preconditions; p != nil {
				rv = p.ResourceVersion
			}
			if tt.wantRV != (rv != nil) || rv != nil && *rv != d.Object.(*corev1.Pod).ResourceVersion {
				t.Errorf("delete precondition resourceVersion %v, want one: %v (the pod's is %s)", rv, tt.wantRV, d.Object.(*corev1.Pod).ResourceVersion)
			}
			// The pod says why it goes, unless nothing happens.
			marked := false
			for _, c := range d.Object.(*corev1.Pod).Status.Conditions {
				marked = marked || (c.Type == corev1.DisruptionTarget && c.Reason == "EvictionByEvictionAPI")
			}
			if marked == dry {
				t.Errorf("pod marked a DisruptionTarget: %v, dry run %v", marked, dry)
			}
		})
	}
}

// checkStatus checks err is nil (code 0) or an API status of that code
// whose message, or one of whose causes, is message.
func checkStatus(t *testing.T, err error, code int32, message string) {
	t.Helper()
	if code == 0 {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.ErrStatus.Code != code {
		t.Fatalf("error %v, want a %d", err, code)
	}
	if message == "" || strings.Contains(se.ErrStatus.Message, message) {
		return
	}
	if d := se.ErrStatus.Details; d != nil {
		for _, c := range d.Causes {
			if c.Message == message {
				return
			}
		}
	}
	t.Errorf("status %+v does not say %q", se.ErrStatus, message)
}

// A budget's 429 is upstream's: its message, and the DisruptionBudget
// cause kubectl drain prints.
func TestEvictRefusalStatus(t *testing.T) {
	store := registrytest.NewStore()
	store.Add(podsGVR, runningPod(true))
	store.Add(budgetsGVR, budget("web", 0, 2, 2))
	err := Evict(context.Background(), store, "default", "web", &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, false)
	var se *apierrors.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v", err)
	}
	st := se.ErrStatus
	if st.Message != "Cannot evict pod as it would violate the pod's disruption budget." || st.Reason != metav1.StatusReasonTooManyRequests ||
		st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != policyv1.DisruptionBudgetCause {
		t.Errorf("status %+v", st)
	}
}

// The action takes policy/v1 bodies and converts policy/v1beta1 ones.
func TestEvictionAction(t *testing.T) {
	a := evictionAction()
	if _, ok := a.New().(*policyv1.Eviction); !ok || a.Run == nil || a.Apply != nil {
		t.Fatalf("eviction action %+v", a)
	}
	older, ok := a.OlderBodies[policyv1beta1.SchemeGroupVersion.WithKind("Eviction")]
	if !ok {
		t.Fatal("no policy/v1beta1 body")
	}
	grace := int64(5)
	in := older.New().(*policyv1beta1.Eviction)
	in.Name, in.DeleteOptions = "web", &metav1.DeleteOptions{GracePeriodSeconds: &grace}
	out := older.Convert(in).(*policyv1.Eviction)
	if out.Name != "web" || *out.DeleteOptions.GracePeriodSeconds != 5 || out.APIVersion != "policy/v1" || out.Kind != "Eviction" {
		t.Errorf("converted %+v", out)
	}

	store := registrytest.NewStore()
	store.Add(podsGVR, runningPod(true))
	call := &registry.Call{Namespace: "default", Name: "web", Body: out, Store: store}
	if res, err := a.Run(context.Background(), call); err != nil || res != nil {
		t.Fatalf("run: %v %v, want a Status Success (nil)", res, err)
	}
	if store.Object(podsGVR, "default", "web") != nil {
		t.Error("the pod is still there")
	}
}

// An unready pod let go by its budget goes only as it was judged: if it
// changes meanwhile (it may have become ready), the client is asked to
// come again, and nothing is deleted.
func TestEvictUnreadyPodThatChanged(t *testing.T) {
	store := registrytest.NewStore()
	store.Add(podsGVR, runningPod(false))
	store.Add(budgetsGVR, budget("web", 0, 2, 2))
	store.BeforeUpdate = func(s *registrytest.Store, gvr schema.GroupVersionResource, ns, name string) {
		if gvr == podsGVR {
			s.Add(podsGVR, runningPod(true)) // the kubelet's write
		}
	}
	err := Evict(context.Background(), store, "default", "web", &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web"}}, false)
	checkStatus(t, err, http.StatusTooManyRequests, "The disruption budget web is still being processed by the server.")
	if len(store.Deleted) != 0 {
		t.Errorf("deleted %+v", store.Deleted)
	}
}

// Taking a budget's last disruption says so in its DisruptionAllowed
// condition, before its controller does.
func TestDecrementBudget(t *testing.T) {
	now := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		allowed       int32
		wantAllowed   int32
		wantCondition metav1.ConditionStatus // "": not set
	}{
		{name: "one of two", allowed: 2, wantAllowed: 1},
		{name: "the last one", allowed: 1, wantAllowed: 0, wantCondition: metav1.ConditionFalse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decrementBudget(budget("web", tt.allowed, 2, 3), "web-0", now)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.DisruptionsAllowed != tt.wantAllowed || !got.Status.DisruptedPods["web-0"].Time.Equal(now) {
				t.Errorf("status %+v", got.Status)
			}
			c := meta.FindStatusCondition(got.Status.Conditions, policyv1.DisruptionAllowedCondition)
			if tt.wantCondition == "" {
				if c != nil {
					t.Errorf("condition %+v", c)
				}
				return
			}
			if c == nil || c.Status != tt.wantCondition || c.Reason != policyv1.InsufficientPodsReason {
				t.Errorf("condition %+v", c)
			}
		})
	}
}
