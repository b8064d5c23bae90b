package lease

import (
	"context"
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// schedulerLease is what client-go's leader election writes.
func schedulerLease() *coordinationv1.Lease {
	now := metav1.NewMicroTime(time.Now())
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-scheduler", Namespace: "kube-system"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr("node-1_1b2c"),
			LeaseDurationSeconds: ptr(int32(15)),
			AcquireTime:          &now,
			RenewTime:            &now,
			LeaseTransitions:     ptr(int32(0)),
		},
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*coordinationv1.Lease)
		want   []string
	}{
		{name: "valid", modify: func(*coordinationv1.Lease) {}},
		{name: "node heartbeat (no transitions)", modify: func(l *coordinationv1.Lease) { l.Spec.LeaseTransitions = nil }},
		{name: "zero duration", modify: func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = ptr(int32(0)) },
			want: []string{"spec.leaseDurationSeconds: Invalid value"}},
		{name: "negative transitions", modify: func(l *coordinationv1.Lease) { l.Spec.LeaseTransitions = ptr(int32(-1)) },
			want: []string{"spec.leaseTransitions: Invalid value"}},
		{name: "known strategy", modify: func(l *coordinationv1.Lease) {
			l.Spec.Strategy = ptr(coordinationv1.OldestEmulationVersion)
			l.Spec.PreferredHolder = ptr("node-2")
		}},
		{name: "custom strategy", modify: func(l *coordinationv1.Lease) {
			l.Spec.Strategy = ptr(coordinationv1.CoordinatedLeaseStrategy("example.com/mine"))
		}},
		{name: "unknown strategy", modify: func(l *coordinationv1.Lease) {
			l.Spec.Strategy = ptr(coordinationv1.CoordinatedLeaseStrategy("Newest"))
		},
			want: []string{"spec.strategy.strategy: Unsupported value"}},
		{name: "bad custom strategy", modify: func(l *coordinationv1.Lease) { l.Spec.Strategy = ptr(coordinationv1.CoordinatedLeaseStrategy("a/b/c")) },
			want: []string{"spec.strategy.strategy: Invalid value"}},
		{name: "preferred holder without strategy", modify: func(l *coordinationv1.Lease) { l.Spec.PreferredHolder = ptr("node-2") },
			want: []string{"spec.preferredHolder: Forbidden"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := schedulerLease()
			tc.modify(l)
			got := errKeys(Resource().Hooks.Validate(context.Background(), l))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			got = errKeys(Resource().Hooks.ValidateUpdate(context.Background(), l, schedulerLease()))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("update: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCoordinatedFieldsDropped(t *testing.T) {
	l := schedulerLease()
	l.Spec.Strategy = ptr(coordinationv1.OldestEmulationVersion)
	l.Spec.PreferredHolder = ptr("node-2")
	Resource().Hooks.PrepareForCreate(context.Background(), l)
	if l.Spec.Strategy != nil || l.Spec.PreferredHolder != nil {
		t.Error("create kept coordinated election fields")
	}

	old := schedulerLease()
	l = schedulerLease()
	l.Spec.Strategy = ptr(coordinationv1.OldestEmulationVersion)
	Resource().Hooks.PrepareForUpdate(context.Background(), l, old)
	if l.Spec.Strategy != nil {
		t.Error("update added a strategy")
	}
	old.Spec.Strategy = ptr(coordinationv1.OldestEmulationVersion)
	old.Spec.PreferredHolder = ptr("node-1")
	l = old.DeepCopy()
	l.Spec.PreferredHolder = ptr("node-2")
	Resource().Hooks.PrepareForUpdate(context.Background(), l, old)
	if l.Spec.Strategy == nil || *l.Spec.PreferredHolder != "node-2" {
		t.Error("update dropped fields the stored lease had")
	}
}

func TestTable(t *testing.T) {
	l := schedulerLease()
	l.CreationTimestamp = metav1.NewTime(time.Now().Add(-3 * time.Hour))
	row, _ := Resource().Table.Row(l)
	if want := []interface{}{"kube-scheduler", "node-1_1b2c", "3h"}; !reflect.DeepEqual(row, want) {
		t.Errorf("row %q, want %q", row, want)
	}
	l.Spec.HolderIdentity = nil
	if row, _ = Resource().Table.Row(l); row[1] != "" {
		t.Errorf("holder %q", row[1])
	}
}

func TestIdentity(t *testing.T) {
	r := Resource()
	if r.GroupVersion.String() != "coordination.k8s.io/v1" || r.Resource != "leases" || !r.Namespaced || !r.AllowCreateOnUpdate {
		t.Errorf("%+v", r)
	}
}
