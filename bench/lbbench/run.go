package lbbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/bench/apibench"
	"github.com/kemudi/kemudi/bench/harness"
)

// The backend every service's slice names, in the benchmark's namespace,
// and the pool (198.18.0.0/15 is reserved for benchmarks).
const (
	backendIP   = "10.200.0.1"
	backendPort = 8080
	pool        = "198.18.0.0/21"
	writers     = 16
)

// Options configure a run.
type Options struct {
	// Services is how many LoadBalancer services are created at once
	// (default 1,000).
	Services int
	// Timeout bounds each wait (default 2 minutes).
	Timeout  time.Duration
	Server   harness.Options
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Services <= 0 {
		o.Services = 1000
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Result is what a run measured.
type Result struct {
	Services int
	// CreateToIngress is per service; LastCreateToAll from the last
	// create to the last address.
	CreateToIngress apibench.Latencies
	LastCreateToAll time.Duration
	// Answered services answered through their address; AllFlowing is
	// from the last address to the last of them.
	Answered   int
	AllFlowing time.Duration
	// ControllerCPU and ServerCPU are the processes' CPU from the first
	// create to the last address; ControllerMem is the cloud controller's
	// memory after.
	ControllerCPU, ServerCPU time.Duration
	ControllerMem            harness.Memory
	LoadBefore, LoadAfter    string
}

// Run starts the server, the cloud controller and the proxy, creates the
// services and measures. Everything it started is stopped and removed.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	r := &Result{Services: o.Services, LoadBefore: harness.LoadAvg()}
	o.Server.Args = append(o.Server.Args, "--disable", "cloud-controller-manager")
	srv, err := harness.Start(ctx, o.Server)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	bin, cleanupBin, err := harness.Binary(ctx, o.Server.Binary)
	if err != nil {
		return nil, err
	}
	defer cleanupBin()
	client := kubernetes.NewForConfigOrDie(srv.Config)

	netns, undo, err := backendNetns(ctx)
	defer undo()
	if err != nil {
		return nil, err
	}
	proxy, err := harness.StartProcess("proxy", bin, "full sync", nil, "proxy", "--kubeconfig", srv.Kubeconfig,
		"--node-name", "lbbench", "--netns", netns, "--healthz-bind-address", "", "--cluster-cidr", "10.42.0.0/16")
	if err != nil {
		return nil, err
	}
	defer proxy.Kill()
	if err := proxy.WaitReady(o.Timeout); err != nil {
		return nil, fmt.Errorf("proxy: %w\n%s", err, proxy.Tail())
	}
	ccm, err := harness.StartProcess("cloud-controller-manager", bin, "cloud controllers starting", nil, "cloud-controller-manager",
		"--kubeconfig", filepath.Join(srv.DataDir, "cloud-controller-manager.kubeconfig"),
		"--cloud-provider", "local", "--lb-address-pool", pool)
	if err != nil {
		return nil, err
	}
	defer ccm.Kill()
	if err := ccm.WaitReady(o.Timeout); err != nil {
		return nil, fmt.Errorf("cloud-controller-manager: %w\n%s", err, ccm.Tail())
	}
	fmt.Fprintf(o.Progress, "lbbench: server, proxy and cloud controller up; creating %d services\n", o.Services)

	addrs, err := r.createAndWait(ctx, o, client, srv.PID, ccm.PID)
	if err != nil {
		return nil, fmt.Errorf("%w\ncloud-controller-manager: %s", err, ccm.Tail())
	}
	if r.ControllerMem, err = harness.ReadMemory(ccm.PID); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "lbbench: every service addressed; sending traffic\n")
	start := time.Now()
	r.Answered, err = reachAll(netns, addrs, o.Timeout)
	r.AllFlowing = time.Since(start)
	r.LoadAfter = harness.LoadAvg()
	return r, err
}

// createAndWait creates the services and their slices from writers
// clients and waits for every address, timing each.
func (r *Result) createAndWait(ctx context.Context, o Options, client kubernetes.Interface, serverPID, ccmPID int) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	w, err := client.CoreV1().Services("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	addressed := map[string]time.Time{}
	addrs := map[string]string{}
	all := make(chan struct{})
	go func() {
		for ev := range w.ResultChan() {
			svc, ok := ev.Object.(*corev1.Service)
			if !ok || ev.Type == watch.Deleted || len(svc.Status.LoadBalancer.Ingress) == 0 || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
				continue
			}
			mu.Lock()
			if _, seen := addressed[svc.Name]; !seen {
				addressed[svc.Name], addrs[svc.Name] = time.Now(), svc.Status.LoadBalancer.Ingress[0].IP
				if len(addressed) == o.Services {
					close(all)
				}
			}
			mu.Unlock()
		}
	}()

	ccm0, err := harness.CPUTime(ccmPID)
	if err != nil {
		return nil, err
	}
	srv0, err := harness.CPUTime(serverPID)
	if err != nil {
		return nil, err
	}
	names := make(chan string)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for name := range names {
				if err := createService(ctx, client, name); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				created[name] = time.Now()
				mu.Unlock()
			}
		})
	}
	for i := range o.Services {
		select {
		case names <- fmt.Sprintf("lb-%04d", i):
		case err := <-errs:
			close(names)
			wg.Wait()
			return nil, err
		}
	}
	close(names)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	lastCreate := time.Now()
	select {
	case <-all:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		return nil, fmt.Errorf("only %d of %d services got an address: %w", len(addressed), o.Services, ctx.Err())
	}
	ccm1, err := harness.CPUTime(ccmPID)
	if err != nil {
		return nil, err
	}
	srv1, err := harness.CPUTime(serverPID)
	if err != nil {
		return nil, err
	}
	r.ControllerCPU, r.ServerCPU = ccm1-ccm0, srv1-srv0

	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(addressed))
	var last time.Time
	for name, at := range addressed {
		// The watch may show the address before the create returned.
		lat = append(lat, max(0, at.Sub(created[name])))
		if at.After(last) {
			last = at
		}
	}
	r.CreateToIngress = apibench.Summarize(lat)
	r.LastCreateToAll = max(0, last.Sub(lastCreate))
	out := make(map[string]string, len(addrs))
	for k, v := range addrs {
		out[k] = v
	}
	return out, nil
}

// createService creates a selector-less LoadBalancer service and the
// slice naming the backend.
func createService(ctx context.Context, client kubernetes.Interface, name string) error {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(backendPort)}}}}
	if _, err := client.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s: %w", name, err)
	}
	port, proto, portName := int32(backendPort), corev1.ProtocolTCP, "http"
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{
			discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "lbbench"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Protocol: &proto, Port: &port}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{backendIP}}},
	}
	if _, err := client.DiscoveryV1().EndpointSlices("default").Create(ctx, sl, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create slice %s: %w", name, err)
	}
	return nil
}

// backendNetns makes the namespace the proxy programs: the backend's
// address on a link that also takes every other route (the pool's
// addresses are DNATed on the way out), and the backend itself.
func backendNetns(ctx context.Context) (path string, undo func(), err error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "kemudi-lbb-" + hex.EncodeToString(b)
	path = "/var/run/netns/" + name
	var undos []func()
	undo = func() {
		for i := len(undos) - 1; i >= 0; i-- {
			undos[i]()
		}
	}
	if err := ip("netns", "add", name); err != nil {
		return "", undo, err
	}
	undos = append(undos, func() { _ = ip("netns", "del", name) })
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		// A veth pair kept inside (the kernel here has no dummy links).
		{"link", "add", "backend0", "type", "veth", "peer", "name", "backend1"},
		{"addr", "add", backendIP + "/24", "dev", "backend0"},
		{"link", "set", "backend1", "up"},
		{"link", "set", "backend0", "up"},
		{"route", "add", "default", "dev", "backend0"},
	} {
		if err := ip(append([]string{"-n", name}, args...)...); err != nil {
			return "", undo, err
		}
	}
	var ln net.Listener
	if err := harness.InNetns(path, func() (err error) {
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", backendPort))
		return err
	}); err != nil {
		return "", undo, fmt.Errorf("backend: %w", err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	undos = append(undos, func() { _ = hs.Close() })
	return path, undo, ctx.Err()
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %v: %w: %s", args, err, out)
	}
	return nil
}

// reachAll sends one HTTP request to each address's port 80 from inside
// the namespace, again until every one answered or the timeout, and
// returns how many answered.
func reachAll(netns string, addrs map[string]string, timeout time.Duration) (int, error) {
	pending := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		pending[a] = true
	}
	deadline := time.Now().Add(timeout)
	for len(pending) > 0 && time.Now().Before(deadline) {
		// Sockets belong to the namespace of the thread that makes them:
		// dial on the thread InNetns holds.
		err := harness.InNetns(netns, func() error {
			for a := range pending {
				if answers(a) {
					delete(pending, a)
				}
			}
			return nil
		})
		if err != nil {
			return len(addrs) - len(pending), err
		}
		if len(pending) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return len(addrs) - len(pending), nil
}

// answers reports whether addr:80 gives the backend's answer.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "80"), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: lbbench\r\n\r\n"); err != nil {
		return false
	}
	resp, err := io.ReadAll(c)
	return err == nil && len(resp) > 0 && string(resp[len(resp)-3:]) == "ok\n"
}
