package quota

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func podWith(name string, requests, limits corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits},
	}}}}
}

func quotaWith(hard, used corev1.ResourceList) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q"},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
		Status:     corev1.ResourceQuotaStatus{Hard: hard, Used: used},
	}
}

func TestPodUsage(t *testing.T) {
	p := podWith("a", list("cpu", "250m", "memory", "64Mi", "example.com/gpu", "1"), list("cpu", "500m", "memory", "128Mi", "example.com/gpu", "1"))
	u := Usage(podsGR, p, now)
	for k, v := range map[string]string{
		"pods": "1", "count/pods": "1", "cpu": "250m", "requests.cpu": "250m", "limits.cpu": "500m",
		"memory": "64Mi", "requests.memory": "64Mi", "limits.memory": "128Mi", "requests.example.com/gpu": "1",
	} {
		q, ok := u[corev1.ResourceName(k)]
		if !ok || q.Cmp(resource.MustParse(v)) != 0 {
			t.Errorf("%s = %v, want %s", k, q.String(), v)
		}
	}
	// Shrunk in the spec, not yet in the container: it still holds what
	// its status reports.
	shrinking := p.DeepCopy()
	shrinking.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("100m")
	shrinking.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Resources: &corev1.ResourceRequirements{
		Requests: list("cpu", "250m", "memory", "64Mi"), Limits: list("cpu", "500m", "memory", "128Mi")}}}
	if q := Usage(podsGR, shrinking, now)[corev1.ResourceRequestsCPU]; q.Cmp(resource.MustParse("250m")) != 0 {
		t.Errorf("a pod shrinking in place: requests.cpu = %s, want the 250m it still has", q.String())
	}
	done := p.DeepCopy()
	done.Status.Phase = corev1.PodSucceeded
	if u := Usage(podsGR, done, now); len(u) != 1 {
		t.Errorf("finished pod usage = %v, want only count/pods", u)
	}
	stuck := p.DeepCopy()
	grace := int64(30)
	stuck.DeletionTimestamp, stuck.DeletionGracePeriodSeconds = &metav1.Time{Time: now.Add(-time.Minute)}, &grace
	if u := Usage(podsGR, stuck, now); len(u) != 1 {
		t.Errorf("stuck terminating pod usage = %v", u)
	}
}

func TestOtherUsage(t *testing.T) {
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}, {Port: 443}}}}
	u := Usage(schema.GroupResource{Resource: "services"}, svc, now)
	if q := u["services.nodeports"]; q.Value() != 2 {
		t.Errorf("nodeports = %v", q.String())
	}
	if q := u["services.loadbalancers"]; q.Value() != 1 {
		t.Errorf("loadbalancers = %v", q.String())
	}
	gold := "gold"
	pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &gold,
		Resources: corev1.VolumeResourceRequirements{Requests: list("storage", "10Gi")}}}
	u = Usage(schema.GroupResource{Resource: "persistentvolumeclaims"}, pvc, now)
	if q := u["gold.storageclass.storage.k8s.io/requests.storage"]; q.Cmp(resource.MustParse("10Gi")) != 0 {
		t.Errorf("class storage = %v", u)
	}
	u = Usage(schema.GroupResource{Group: "apps", Resource: "deployments"}, nil, now)
	if q := u["count/deployments.apps"]; q.Value() != 1 || len(u) != 1 {
		t.Errorf("deployment usage = %v", u)
	}
}

func TestAdmit(t *testing.T) {
	small := podWith("a", list("cpu", "500m", "memory", "64Mi"), list("cpu", "500m", "memory", "64Mi"))
	for _, tc := range []struct {
		name    string
		quota   *corev1.ResourceQuota
		pod     *corev1.Pod
		wantErr string
		used    string
	}{
		{"fits", quotaWith(list("pods", "2", "requests.cpu", "1"), list("pods", "1", "requests.cpu", "0")), small, "", "pods=2,requests.cpu=500m"},
		{"pods exceeded", quotaWith(list("pods", "1"), list("pods", "1")), small, "exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1", ""},
		{"cpu exceeded", quotaWith(list("pods", "5", "requests.cpu", "1"), list("pods", "0", "requests.cpu", "750m")), small,
			"exceeded quota: q, requested: requests.cpu=500m, used: requests.cpu=750m, limited: requests.cpu=1", ""},
		{"no requests", quotaWith(list("requests.cpu", "1", "limits.memory", "1Gi"), list("requests.cpu", "0", "limits.memory", "0")), podWith("b", nil, nil),
			"failed quota: q: must specify limits.memory for: app; requests.cpu for: app", ""},
		{"status unknown", &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Status: corev1.ResourceQuotaStatus{Hard: list("pods", "1")}}, small,
			"status unknown for quota: q, resources: pods", ""},
		{"not synced yet", &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q"}, Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "0")}}, small, "", ""},
		{"other resources", quotaWith(list("services", "0"), list("services", "0")), small, "", ""},
	} {
		used, err := Admit(tc.quota, podsGR, tc.pod, Usage(podsGR, tc.pod, now))
		switch {
		case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr == "" && pretty(used) != tc.used:
			t.Errorf("%s: used = %q, want %q", tc.name, pretty(used), tc.used)
		}
	}
}

func TestScopes(t *testing.T) {
	best := podWith("best", nil, nil)
	burst := podWith("burst", list("cpu", "1"), nil)
	deadline := int64(10)
	term := podWith("term", nil, nil)
	term.Spec.ActiveDeadlineSeconds = &deadline
	hi := podWith("hi", nil, nil)
	hi.Spec.PriorityClassName = "high"
	q := func(scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Scopes: scopes}}
	}
	sel := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
		{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}},
	}}}}
	for _, tc := range []struct {
		q    *corev1.ResourceQuota
		pod  *corev1.Pod
		want bool
	}{
		{q(), burst, true},
		{q(corev1.ResourceQuotaScopeBestEffort), best, true},
		{q(corev1.ResourceQuotaScopeBestEffort), burst, false},
		{q(corev1.ResourceQuotaScopeNotBestEffort), burst, true},
		{q(corev1.ResourceQuotaScopeTerminating), term, true},
		{q(corev1.ResourceQuotaScopeNotTerminating), term, false},
		{sel, hi, true},
		{sel, best, false},
	} {
		if got := MatchesScopes(tc.q, podsGR, tc.pod); got != tc.want {
			t.Errorf("%v %v on %s: %v", tc.q.Spec.Scopes, tc.q.Spec.ScopeSelector, tc.pod.Name, got)
		}
	}
	if MatchesScopes(q(corev1.ResourceQuotaScopeBestEffort), schema.GroupResource{Resource: "services"}, &corev1.Service{}) {
		t.Error("a scoped quota covers services")
	}
}

func TestUsed(t *testing.T) {
	q := &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "10", "requests.memory", "1Gi", "services", "2")}}
	var usages []ObjectUsage
	for _, p := range []*corev1.Pod{podWith("a", list("memory", "100Mi"), nil), podWith("b", list("memory", "28Mi"), nil)} {
		usages = append(usages, ObjectUsage{Object: p, Usage: Usage(podsGR, p, now)})
	}
	used := Used(q, podsGR, usages)
	if got := pretty(used); got != "pods=2,requests.memory=128Mi" {
		t.Errorf("used = %s", got)
	}
	used = Used(q, schema.GroupResource{Resource: "services"}, nil)
	if got := pretty(used); !strings.HasPrefix(got, "services=0") {
		t.Errorf("no services: %s", got)
	}
}
