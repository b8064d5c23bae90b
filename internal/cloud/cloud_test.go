package cloud_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/cloud"
	"github.com/kemudi/kemudi/internal/cloud/cloudtest"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
	"github.com/kemudi/kemudi/internal/controller/controllertest"
	"github.com/kemudi/kemudi/internal/simnode"
	"github.com/kemudi/kemudi/internal/simnode/simnodetest"
)

// ingressOf waits until the service's status.loadBalancer.ingress is
// set and returns its IPs and how long the wait took.
func ingressOf(t *testing.T, c kubernetes.Interface, name string) ([]string, time.Duration) {
	t.Helper()
	start := time.Now()
	var ips []string
	controllertest.WaitFor(t, "the load balancer address of "+name, 20*time.Second, func(ctx context.Context) (bool, error) {
		svc, err := c.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ips = nil
		for _, in := range svc.Status.LoadBalancer.Ingress {
			ips = append(ips, in.IP)
		}
		return len(ips) > 0, nil
	})
	return ips, time.Since(start)
}

// eventsOf returns "Reason: message" of every event about the object.
func eventsOf(t *testing.T, c kubernetes.Interface, namespace, name string) []string {
	t.Helper()
	evs, err := c.CoreV1().Events(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs.Items {
		if e.InvolvedObject.Name == name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

// waitEvent waits for an event about the object whose "Reason: message"
// contains want, and returns it.
func waitEvent(t *testing.T, c kubernetes.Interface, namespace, name, want string) string {
	t.Helper()
	var got string
	controllertest.WaitFor(t, fmt.Sprintf("event %q on %s", want, name), 20*time.Second, func(context.Context) (bool, error) {
		for _, e := range eventsOf(t, c, namespace, name) {
			if strings.Contains(e, want) {
				got = e
				return true, nil
			}
		}
		return false, nil
	})
	return got
}

func lbService(name string, port int32, mutate ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intOrStr(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	for _, m := range mutate {
		m(svc)
	}
	return svc
}

func waitGone(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	controllertest.WaitFor(t, name+" to be deleted", 20*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

// TestLoadBalancerOnNodeAddresses is the seed's expose step on the
// local provider without a pool: the service gets the ready nodes'
// addresses at once, with upstream's events and finalizer; a second
// service wanting the same port is told which service has it and gets
// it once that one is deleted; a node going NotReady leaves the
// addresses.
func TestLoadBalancerOnNodeAddresses(t *testing.T) {
	s := clustertest.Start(t)
	nodes := simnodetest.Start(t, s.Config, simnode.Options{Count: 3})
	cloudtest.Run(t, s.Config, nil, nil)
	c := s.Client
	ctx := context.Background()

	// What `kubectl expose --type=LoadBalancer --port=80
	// --target-port=8080` makes.
	s.MustKubectl("create", "service", "loadbalancer", "web", "--tcp=80:8080")
	ips, took := ingressOf(t, c, "web")
	t.Logf("EXTERNAL-IP %v filled %v after the service was created", ips, took)
	if want := []string{"10.240.0.1", "10.240.0.2", "10.240.0.3"}; !slices.Equal(ips, want) {
		t.Errorf("ingress = %v, want the nodes' addresses %v", ips, want)
	}
	out := s.MustKubectl("get", "svc", "web")
	if !strings.Contains(out, "10.240.0.1,10.240.0.2,10.240.0.3") || strings.Contains(out, "<pending>") {
		t.Errorf("kubectl get svc web:\n%s", out)
	}
	waitEvent(t, c, "default", "web", "EnsuredLoadBalancer: Ensured load balancer")
	if evs := eventsOf(t, c, "default", "web"); !slices.Contains(evs, "EnsuringLoadBalancer: Ensuring load balancer") {
		t.Errorf("events of web = %v, want EnsuringLoadBalancer", evs)
	}
	svc, err := c.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(svc.Finalizers, "service.kubernetes.io/load-balancer-cleanup") {
		t.Errorf("finalizers = %v, want the load balancer cleanup finalizer", svc.Finalizers)
	}

	// The same port on the node addresses: refused, with the reason.
	if _, err := c.CoreV1().Services("default").Create(ctx, lbService("web2", 80), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, c, "default", "web2", "SyncLoadBalancerFailed")
	if !strings.Contains(ev, "port 80/TCP on the node addresses is already used by service default/web") {
		t.Errorf("event = %q, want it to name the port and default/web", ev)
	}
	// A port the nodes use themselves.
	if _, err := c.CoreV1().Services("default").Create(ctx, lbService("api", 6443), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, c, "default", "api", "SyncLoadBalancerFailed")
	if !strings.Contains(ev, "port 6443/TCP on the node addresses is the nodes' own (the API server)") {
		t.Errorf("event = %q, want it to say the port is the nodes' own", ev)
	}
	w2, _ := c.CoreV1().Services("default").Get(ctx, "web2", metav1.GetOptions{})
	if len(w2.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("web2 got %v though its port is taken", w2.Status.LoadBalancer.Ingress)
	}

	// Deleting web frees the port: web2 gets the addresses at once, not
	// after its retry backoff.
	if err := c.CoreV1().Services("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "web")
	for _, want := range []string{"DeletingLoadBalancer: Deleting load balancer", "DeletedLoadBalancer: Deleted load balancer"} {
		waitEvent(t, c, "default", "web", want)
	}
	start := time.Now()
	ips, _ = ingressOf(t, c, "web2")
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("web2 got its address %v after web was deleted: the retry waited for its backoff", d)
	}
	if len(ips) != 3 {
		t.Errorf("web2 ingress = %v", ips)
	}

	// A node that is not ready no longer serves the load balancer.
	if err := nodes.SetReady("node-0001", false); err != nil {
		t.Fatal(err)
	}
	controllertest.WaitFor(t, "node-0001's address to leave web2's load balancer", 20*time.Second, func(ctx context.Context) (bool, error) {
		svc, err := c.CoreV1().Services("default").Get(ctx, "web2", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		var got []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			got = append(got, in.IP)
		}
		return slices.Equal(got, []string{"10.240.0.1", "10.240.0.3"}), nil
	})
	waitEvent(t, c, "default", "web2", "UpdatedLoadBalancer")

	// A type change away from LoadBalancer deletes the load balancer and
	// removes the finalizer and the address.
	s.MustKubectl("patch", "svc", "web2", "-p", `{"spec":{"type":"ClusterIP"}}`)
	controllertest.WaitFor(t, "web2 to lose its load balancer", 20*time.Second, func(ctx context.Context) (bool, error) {
		svc, err := c.CoreV1().Services("default").Get(ctx, "web2", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(svc.Finalizers) == 0 && len(svc.Status.LoadBalancer.Ingress) == 0, nil
	})
	waitEvent(t, c, "default", "web2", "Type: LoadBalancer -> ClusterIP")
}

// TestLoadBalancerPool: with an address pool each service gets an
// address of its own; an exhausted pool is reported, and refilled by a
// deletion; loadBalancerIP is honoured or refused with the reason;
// another class's service is left alone.
func TestLoadBalancerPool(t *testing.T) {
	s := clustertest.Start(t)
	simnodetest.Start(t, s.Config, simnode.Options{Count: 2})
	cloudtest.Run(t, s.Config, nil, func(o *cloud.Options) { o.LBAddressPool = "10.99.0.200-10.99.0.201" })
	c := s.Client
	ctx := context.Background()
	create := func(svc *corev1.Service) {
		t.Helper()
		if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	create(lbService("a", 80, func(s *corev1.Service) { s.Spec.LoadBalancerIP = "10.99.0.201" }))
	if ips, _ := ingressOf(t, c, "a"); !slices.Equal(ips, []string{"10.99.0.201"}) {
		t.Errorf("a = %v, want its loadBalancerIP 10.99.0.201", ips)
	}
	create(lbService("b", 80))
	if ips, _ := ingressOf(t, c, "b"); !slices.Equal(ips, []string{"10.99.0.200"}) {
		t.Errorf("b = %v, want the pool's free 10.99.0.200", ips)
	}
	create(lbService("c", 80))
	ev := waitEvent(t, c, "default", "c", "SyncLoadBalancerFailed")
	if !strings.Contains(ev, "every IPv4 address of the pool 10.99.0.200-10.99.0.201 is in use") {
		t.Errorf("event = %q, want the pool exhausted", ev)
	}
	create(lbService("d", 81, func(s *corev1.Service) { s.Spec.LoadBalancerIP = "10.98.0.1" }))
	ev = waitEvent(t, c, "default", "d", "SyncLoadBalancerFailed")
	if !strings.Contains(ev, "loadBalancerIP 10.98.0.1 is not in the address pool 10.99.0.200-10.99.0.201") {
		t.Errorf("event = %q, want loadBalancerIP refused", ev)
	}
	class := "example.com/other"
	create(lbService("other", 80, func(s *corev1.Service) { s.Spec.LoadBalancerClass = &class }))

	if err := c.CoreV1().Services("default").Delete(ctx, "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ips, _ := ingressOf(t, c, "c"); !slices.Equal(ips, []string{"10.99.0.200"}) {
		t.Errorf("c = %v, want b's freed 10.99.0.200", ips)
	}
	other, err := c.CoreV1().Services("default").Get(ctx, "other", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(other.Finalizers) != 0 || len(other.Status.LoadBalancer.Ingress) != 0 || len(eventsOf(t, c, "default", "other")) != 0 {
		t.Errorf("a service of another load balancer class was touched: %v %v %v", other.Finalizers, other.Status.LoadBalancer, eventsOf(t, c, "default", "other"))
	}
}

// TestNodesInitialized: nodes registered with the uninitialized taint
// get the provider's providerID, instance type and zone labels, and
// lose the taint.
func TestNodesInitialized(t *testing.T) {
	s := clustertest.Start(t)
	taint := corev1.Taint{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	simnodetest.Start(t, s.Config, simnode.Options{Count: 2, Taints: []corev1.Taint{taint}})
	cloudtest.Run(t, s.Config, nil, nil)
	for _, name := range []string{"node-0000", "node-0001"} {
		controllertest.WaitFor(t, name+" to be initialized", 20*time.Second, func(ctx context.Context) (bool, error) {
			n, err := s.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return len(n.Spec.Taints) == 0, nil
		})
		n, err := s.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n.Spec.ProviderID != "local://"+name {
			t.Errorf("%s providerID = %q", name, n.Spec.ProviderID)
		}
		for k, v := range map[string]string{
			"topology.kubernetes.io/zone": "local", "topology.kubernetes.io/region": "local",
			"node.kubernetes.io/instance-type": "local",
		} {
			if n.Labels[k] != v {
				t.Errorf("%s label %s = %q, want %q", name, k, n.Labels[k], v)
			}
		}
		if len(n.Status.Addresses) == 0 {
			t.Errorf("%s lost its addresses", name)
		}
	}
	out := s.MustKubectl("get", "nodes", "-L", "topology.kubernetes.io/zone")
	if !strings.Contains(out, "ZONE") || !strings.Contains(out, "local") {
		t.Errorf("kubectl get nodes -L topology.kubernetes.io/zone:\n%s", out)
	}
}

// watchIngress is a helper kept for benchmarks of create-to-address
// latency: it returns when the service has an address.
func watchIngress(ctx context.Context, c kubernetes.Interface, name string) error {
	w, err := c.CoreV1().Services("default").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if svc, ok := ev.Object.(*corev1.Service); ok && ev.Type != watch.Deleted && len(svc.Status.LoadBalancer.Ingress) > 0 {
			return nil
		}
	}
	return ctx.Err()
}
