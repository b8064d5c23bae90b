package builtin

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestResourceQuota(t *testing.T) {
	q := resource.MustParse
	quotaFor := func(name, namespace string, hard, used corev1.ResourceList) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
			Spec:       corev1.ResourceQuotaSpec{Hard: hard},
			Status:     corev1.ResourceQuotaStatus{Hard: hard, Used: used},
		}
	}
	pods := func(hard, used string) *corev1.ResourceQuota {
		return quotaFor("pods", "team", corev1.ResourceList{corev1.ResourcePods: q(hard)}, corev1.ResourceList{corev1.ResourcePods: q(used)})
	}
	cms := quotaFor("cms", "team", corev1.ResourceList{"count/configmaps": q("1")}, corev1.ResourceList{"count/configmaps": q("0")})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	deadline := pod.DeepCopy()
	deadline.Spec.ActiveDeadlineSeconds = ptr.To[int64](60)
	scoped := func(name string, scope corev1.ResourceQuotaScope, hard, used string) *corev1.ResourceQuota {
		rq := pods(hard, used)
		rq.Name, rq.Spec.Scopes = name, []corev1.ResourceQuotaScope{scope}
		return rq
	}
	tests := []struct {
		name     string
		quotas   []*corev1.ResourceQuota
		resource string
		sub      string
		obj      runtime.Object
		old      runtime.Object
		op       string
		dry      bool
		storeErr error
		wantErr  string
		wantUsed map[string]string // quota name: its pods used after
	}{{
		name: "room left: charged", quotas: []*corev1.ResourceQuota{pods("2", "1"), cms}, resource: "pods", obj: pod, op: auth.Create,
		wantUsed: map[string]string{"pods": "2"},
	}, {
		name: "full: refused with upstream's message, nothing charged", quotas: []*corev1.ResourceQuota{pods("2", "2")}, resource: "pods", obj: pod, op: auth.Create,
		wantErr:  `pods "p" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2`,
		wantUsed: map[string]string{"pods": "2"},
	}, {
		name: "a dry run is judged, not charged", quotas: []*corev1.ResourceQuota{pods("2", "1")}, resource: "pods", obj: pod, op: auth.Create, dry: true,
		wantUsed: map[string]string{"pods": "1"},
	}, {
		name: "a full quota of another namespace does not count", quotas: []*corev1.ResourceQuota{quotaFor("pods", "other", corev1.ResourceList{corev1.ResourcePods: q("0")}, nil)},
		resource: "pods", obj: pod, op: auth.Create,
	}, {
		name: "updates are not judged", quotas: []*corev1.ResourceQuota{pods("2", "2")}, resource: "pods", obj: pod, old: pod, op: auth.Update,
		wantUsed: map[string]string{"pods": "2"},
	}, {
		name:     "an update that gives the pod a deadline is charged to the Terminating quotas alone",
		quotas:   []*corev1.ResourceQuota{pods("5", "1"), scoped("term", corev1.ResourceQuotaScopeTerminating, "1", "0"), scoped("long", corev1.ResourceQuotaScopeNotTerminating, "2", "1")},
		resource: "pods", obj: deadline, old: pod, op: auth.Update,
		wantUsed: map[string]string{"pods": "1", "term": "1", "long": "1"},
	}, {
		name:     "an update into a full Terminating quota is refused",
		quotas:   []*corev1.ResourceQuota{scoped("term", corev1.ResourceQuotaScopeTerminating, "1", "1")},
		resource: "pods", obj: deadline, old: pod, op: auth.Update,
		wantErr:  `pods "p" is forbidden: exceeded quota: term, requested: pods=1, used: pods=1, limited: pods=1`,
		wantUsed: map[string]string{"term": "1"},
	}, {
		name: "an eviction of a pod is no pod to charge", quotas: []*corev1.ResourceQuota{pods("2", "2")}, resource: "pods", sub: "eviction",
		obj: &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team"}}, op: auth.Create,
		wantUsed: map[string]string{"pods": "2"},
	}, {
		name: "the store fails", quotas: []*corev1.ResourceQuota{pods("2", "1")}, resource: "pods", obj: pod, op: auth.Create,
		storeErr: errors.New("etcd is down"), wantErr: "etcd is down",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &objects[*corev1.ResourceQuota]{items: tt.quotas, err: tt.storeErr}
			p := ResourceQuota{Quotas: store}
			r := &auth.AdmissionRequest{Operation: tt.op, Resource: tt.resource, Subresource: tt.sub, Namespace: "team", Name: "p", Namespaced: true, Object: tt.obj, Old: tt.old, DryRun: tt.dry}
			err := p.Admit(context.Background(), r)
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			for _, it := range store.items {
				want, ok := tt.wantUsed[it.Name]
				if !ok {
					continue
				}
				if got := it.Status.Used[corev1.ResourcePods]; got.Cmp(q(want)) != 0 {
					t.Errorf("quota %s: pods used %s, want %s", it.Name, got.String(), want)
				}
			}
		})
	}
}
