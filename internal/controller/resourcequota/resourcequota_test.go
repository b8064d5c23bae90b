package resourcequota_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
)

func until(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func used(t *testing.T, s *clustertest.Server, name, resourceName string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		q, err := s.Client.CoreV1().ResourceQuotas("team").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		v, ok := q.Status.Used[corev1.ResourceName(resourceName)]
		if !ok {
			return "", nil
		}
		return v.String(), nil
	}
}

func usedIs(t *testing.T, s *clustertest.Server, name, resourceName, want string) {
	t.Helper()
	get := used(t, s, name, resourceName)
	until(t, name+" "+resourceName+" used "+want, func(ctx context.Context) (bool, error) {
		v, err := get(ctx)
		return v == want, err
	})
}

func podYAML(name, cpu string) string {
	resources := ""
	if cpu != "" {
		resources = "\n    resources:\n      requests:\n        cpu: " + cpu + "\n        memory: 64Mi\n      limits:\n        cpu: " + cpu + "\n        memory: 64Mi"
	}
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: team\nspec:\n  containers:\n  - name: app\n    image: busybox" + resources + "\n"
}

func TestQuotaUsageAndEnforcement(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) { o.Controllers = []string{"resourcequota"} })
	ctx := context.Background()
	c := s.Client

	s.MustKubectl("create", "namespace", "team")
	// An object that exists before the quota is counted by the controller.
	s.MustKubectl("create", "configmap", "settings", "-n", "team", "--from-literal=a=b")
	s.MustKubectl("create", "quota", "compute", "-n", "team", "--hard=pods=2,requests.cpu=1,limits.memory=1Gi,configmaps=5,count/deployments.apps=1")
	usedIs(t, s, "compute", "pods", "0")
	usedIs(t, s, "compute", "configmaps", "1")

	// Two pods fit; the third is refused with upstream's message.
	for _, name := range []string{"p1", "p2"} {
		if _, err := s.KubectlStdin(strings.NewReader(podYAML(name, "300m")), "create", "-f", "-"); err != nil {
			t.Fatal(err)
		}
	}
	usedIs(t, s, "compute", "requests.cpu", "600m")
	_, err := s.KubectlStdin(strings.NewReader(podYAML("p3", "300m")), "create", "-f", "-")
	want := `Error from server (Forbidden): error when creating "STDIN": pods "p3" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("third pod: %v\nwant %s", err, want)
	}
	// A pod that does not say what it requests is refused too.
	_, err = s.KubectlStdin(strings.NewReader(podYAML("bare", "")), "create", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), `pods "bare" is forbidden: failed quota: compute: must specify limits.memory for: app; requests.cpu for: app`) {
		t.Errorf("pod without requests: %v", err)
	}
	out := s.MustKubectl("describe", "quota", "compute", "-n", "team")
	for _, line := range []string{"pods", "requests.cpu", "600m", "configmaps"} {
		if !strings.Contains(out, line) {
			t.Errorf("kubectl describe quota lacks %q:\n%s", line, out)
		}
	}

	// A deleted pod gives its share back.
	if err := c.CoreV1().Pods("team").Delete(ctx, "p1", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	usedIs(t, s, "compute", "pods", "1")
	if _, err := s.KubectlStdin(strings.NewReader(podYAML("p3", "300m")), "create", "-f", "-"); err != nil {
		t.Errorf("pod after a deletion: %v", err)
	}
	// Past the cpu quota.
	_, err = s.KubectlStdin(strings.NewReader(podYAML("big", "2")), "create", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "exceeded quota: compute, requested: pods=1,requests.cpu=2, used: pods=2,requests.cpu=600m, limited: pods=2,requests.cpu=1") {
		t.Errorf("big pod: %v", err)
	}

	// Object counts of any resource.
	s.MustKubectl("create", "deployment", "one", "-n", "team", "--image=nginx")
	usedIs(t, s, "compute", "count/deployments.apps", "1")
	_, err = s.Kubectl("create", "deployment", "two", "-n", "team", "--image=nginx")
	if err == nil || !strings.Contains(err.Error(), "exceeded quota: compute, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1") {
		t.Errorf("second deployment: %v", err)
	}
}

func TestLimitRangeDefaults(t *testing.T) {
	s := clustertest.Start(t)
	s.RunControllerManager(func(o *manager.Options) { o.Controllers = []string{"resourcequota"} })
	ctx := context.Background()
	c := s.Client
	s.MustKubectl("create", "namespace", "team")
	if _, err := c.CoreV1().LimitRanges("team").Create(ctx, &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			Default:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Max:            corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.MustKubectl("create", "quota", "compute", "-n", "team", "--hard=requests.cpu=1,limits.memory=1Gi")
	usedIs(t, s, "compute", "requests.cpu", "0")

	// A pod without resources gets the defaults, so the quota admits it.
	if _, err := s.KubectlStdin(strings.NewReader(podYAML("bare", "")), "create", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	p, err := c.CoreV1().Pods("team").Get(ctx, "bare", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Spec.Containers[0].Resources
	if r.Requests.Cpu().String() != "100m" || r.Limits.Cpu().String() != "500m" || r.Limits.Memory().String() != "128Mi" {
		t.Errorf("resources = %+v", r)
	}
	if got := p.Annotations["kubernetes.io/limit-ranger"]; got != "LimitRanger plugin set: cpu, memory request for container app; cpu, memory limit for container app" {
		t.Errorf("annotation = %q", got)
	}
	usedIs(t, s, "compute", "requests.cpu", "100m")
	// Beyond the maximum: refused.
	_, err = s.KubectlStdin(strings.NewReader(podYAML("huge", "2")), "create", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), `pods "huge" is forbidden: maximum cpu usage per Container is 1, but limit is 2`) {
		t.Errorf("pod over the maximum: %v", err)
	}
}
