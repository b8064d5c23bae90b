package endpoints_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

const gate = "example.com/ready"

func until(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// gatedPod is a pod that is ready only once the test sets its readiness
// gate, bound to node.
func gatedPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			NodeName:       node,
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: gate}},
			Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			}}},
		},
	}
}

func setGate(t *testing.T, c kubernetes.Interface, name string, ready bool) {
	t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	patch, _ := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"conditions": []map[string]interface{}{
		{"type": gate, "status": status, "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)},
	}}})
	if _, err := c.CoreV1().Pods("default").Patch(context.Background(), name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
}

// addresses returns the ready and not-ready IPs of an Endpoints object.
func addresses(ep *corev1.Endpoints) (ready, notReady []string) {
	for _, s := range ep.Subsets {
		for _, a := range s.Addresses {
			ready = append(ready, a.TargetRef.Name)
		}
		for _, a := range s.NotReadyAddresses {
			notReady = append(notReady, a.TargetRef.Name)
		}
	}
	sort.Strings(ready)
	sort.Strings(notReady)
	return ready, notReady
}

func TestEndpointsFollowReadiness(t *testing.T) {
	s := clustertest.Start(t)
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 2, Zones: 2})
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"endpoints", "endpointslice"}
	})
	ctx := context.Background()
	c := s.Client

	svc, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Before any pod: an empty Endpoints and a placeholder slice.
	until(t, "a placeholder slice", func(ctx context.Context) (bool, error) {
		list, err := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		return err == nil && len(list.Items) == 1 && len(list.Items[0].Endpoints) == 0, err
	})
	for i, name := range []string{"web-a", "web-b", "web-c"} {
		if _, err := c.CoreV1().Pods("default").Create(ctx, gatedPod(name, nodes.Names()[i%2]), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	until(t, "three not-ready addresses", func(ctx context.Context) (bool, error) {
		ep, err := c.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ready, notReady := addresses(ep)
		return len(ready) == 0 && len(notReady) == 3, nil
	})
	setGate(t, c, "web-a", true)
	setGate(t, c, "web-b", true)
	until(t, "two ready addresses", func(ctx context.Context) (bool, error) {
		ep, err := c.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, notReady := addresses(ep)
		return strings.Join(ready, ",") == "web-a,web-b" && strings.Join(notReady, ",") == "web-c", nil
	})
	ep, err := c.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := ep.Subsets[0]
	if len(sub.Ports) != 1 || sub.Ports[0].Port != 8080 || sub.Ports[0].Name != "http" || sub.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("ports = %+v", sub.Ports)
	}
	if a := sub.Addresses[0]; a.NodeName == nil || *a.NodeName == "" || a.TargetRef.Kind != "Pod" || a.TargetRef.UID == "" {
		t.Errorf("address = %+v", a)
	}
	if ep.Labels["team"] != "a" || ep.Labels["endpoints.kubernetes.io/managed-by"] != "endpoint-controller" {
		t.Errorf("labels = %v", ep.Labels)
	}

	// kubectl shows the ready addresses with the resolved port.
	out := s.MustKubectl("get", "endpoints", "web")
	if f := strings.Fields(strings.Split(out, "\n")[1]); len(f) < 2 || strings.Count(f[1], ":8080") != 2 {
		t.Errorf("kubectl get endpoints:\n%s", out)
	}
	out = s.MustKubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web")
	if !strings.Contains(out, "IPv4") || !strings.Contains(out, "8080") || !strings.HasPrefix(strings.Split(out, "\n")[1], "web-") {
		t.Errorf("kubectl get endpointslices:\n%s", out)
	}
	until(t, "the slice to follow", func(ctx context.Context) (bool, error) {
		list, err := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		if err != nil || len(list.Items) != 1 {
			return false, err
		}
		ready := 0
		for _, e := range list.Items[0].Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready++
			}
		}
		return len(list.Items[0].Endpoints) == 3 && ready == 2, nil
	})
	list, _ := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
	slice := list.Items[0]
	if slice.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" || slice.Labels["team"] != "a" ||
		len(slice.OwnerReferences) != 1 || slice.OwnerReferences[0].UID != svc.UID || !*slice.OwnerReferences[0].Controller {
		t.Errorf("slice metadata: labels %v owners %+v", slice.Labels, slice.OwnerReferences)
	}
	for _, e := range slice.Endpoints {
		if e.Zone == nil || !strings.HasPrefix(*e.Zone, "zone-") || e.NodeName == nil {
			t.Errorf("endpoint without zone or node: %+v", e)
		}
	}

	// Readiness lost, a pod deleted: both follow.
	setGate(t, c, "web-a", false)
	if err := c.CoreV1().Pods("default").Delete(ctx, "web-c", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "web-a not ready and web-c gone", func(ctx context.Context) (bool, error) {
		ep, err := c.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, notReady := addresses(ep)
		return strings.Join(ready, ",") == "web-b" && strings.Join(notReady, ",") == "web-a", nil
	})

	// publishNotReadyAddresses publishes every address as ready.
	svc, err = c.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.PublishNotReadyAddresses = true
	if _, err := c.CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "not-ready addresses published", func(ctx context.Context) (bool, error) {
		ep, err := c.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, notReady := addresses(ep)
		return len(ready) == 2 && len(notReady) == 0, nil
	})

	// The service goes: its Endpoints go, its slices too.
	if err := c.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "endpoints and slices deleted", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Endpoints("default").Get(ctx, "web", metav1.GetOptions{})
		list, lerr := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
		return err != nil && lerr == nil && len(list.Items) == 0, nil
	})
}

func TestSelectorlessAndHeadlessServices(t *testing.T) {
	s := clustertest.Start(t)
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 1})
	s.RunControllerManager(func(o *manager.Options) {
		o.Controllers = []string{"endpoints", "endpointslice", "endpointslice-mirroring"}
	})
	ctx := context.Background()
	c := s.Client

	// A service without a selector keeps the endpoints its owner writes.
	if _, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "external"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	manual := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: "external"},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "192.0.2.10"}},
			Ports:     []corev1.EndpointPort{{Port: 5432, Protocol: corev1.ProtocolTCP}},
		}},
	}
	if _, err := c.CoreV1().Endpoints("default").Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// A headless service publishes hostnames of pods whose subdomain
	// names it.
	if _, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "db"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("db-%d", i), Labels: map[string]string{"app": "db"}},
			Spec: corev1.PodSpec{NodeName: nodes.Names()[0], Hostname: fmt.Sprintf("db-%d", i), Subdomain: "db",
				Containers: []corev1.Container{{Name: "db", Image: "postgres:17"}}},
		}
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	until(t, "headless endpoints with hostnames", func(ctx context.Context) (bool, error) {
		ep, err := c.CoreV1().Endpoints("default").Get(ctx, "db", metav1.GetOptions{})
		if err != nil || len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 2 {
			return false, nil
		}
		_, headless := ep.Labels[corev1.IsHeadlessService]
		return headless && ep.Subsets[0].Addresses[0].Hostname != "" && len(ep.Subsets[0].Ports) == 0, nil
	})

	got, err := c.CoreV1().Endpoints("default").Get(ctx, "external", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Subsets) != 1 || got.Subsets[0].Addresses[0].IP != "192.0.2.10" || got.Labels["endpoints.kubernetes.io/managed-by"] != "" {
		t.Errorf("selectorless endpoints changed: %+v", got)
	}
	// Its endpoints are mirrored into a slice of the mirroring controller.
	until(t, "the mirrored slice", func(ctx context.Context) (bool, error) {
		list, err := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=external"})
		if err != nil || len(list.Items) != 1 {
			return false, err
		}
		sl := list.Items[0]
		return sl.Labels[discoveryv1.LabelManagedBy] == "endpointslicemirroring-controller.k8s.io" && len(sl.Endpoints) == 1 &&
			sl.Endpoints[0].Addresses[0] == "192.0.2.10" && *sl.Ports[0].Port == 5432 && sl.OwnerReferences[0].Kind == "Endpoints", nil
	})
	// Not the API server's own endpoints (marked skip-mirror).
	if list, err := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io"}); err != nil || len(list.Items) != 1 {
		t.Errorf("mirrored slices: %v %v", list, err)
	}
	// The API server's own endpoints are left alone.
	if ep, err := c.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil && ep.Labels["endpoints.kubernetes.io/managed-by"] != "" {
		t.Errorf("kubernetes endpoints taken over: %v", ep.Labels)
	}
}
