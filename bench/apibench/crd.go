package apibench

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/bench/harness"
)

// CRDResult is what the custom resource run measured: pods and custom
// objects created by the same clients on the same server, and 100 CRDs
// installed at once.
type CRDResult struct {
	Objects, Clients int
	// PodsPerSec and CustomPerSec are create rates; their p99 latencies.
	PodsPerSec, CustomPerSec float64
	PodP99, CustomP99        time.Duration
	PodFailed, CustomFailed  int
	// PodsAfterPerSec is the rate of as many pods again, created after
	// the custom objects (pods, custom objects, pods): a server's rate
	// drifts over a run (more objects held; load from elsewhere), so the
	// custom objects are compared with the pods on both sides of them,
	// not only with the first phase.
	PodsAfterPerSec float64
	PodAfterP99     time.Duration
	PodAfterFailed  int
	PodsAfter       phaseCost
	Errors          []string
	// CRDs installed at once, and how long until all were Established.
	CRDs        int
	Established time.Duration
	// RSS of the server idle before and 5 s after installing the CRDs;
	// HeapBefore and HeapAfter its Go heap in use then.
	RSSBefore, RSSAfter   uint64
	MemBefore, MemAfter   harness.Memory
	HeapBefore, HeapAfter uint64
	// IdleBefore and IdleAfter are the same moments read more ways
	// (PSS, and after a forced collection).
	IdleBefore, IdleAfter IdleMemory
	// What the server spent installing the CRDs (until all were
	// Established), creating the pods and creating the custom objects.
	Install, Pods, Custom phaseCost
	LoadBefore, LoadAfter string
}

// Print writes r as a few lines.
func (r *CRDResult) Print(w io.Writer) {
	fmt.Fprintf(w, "load before: %s\n", r.LoadBefore)
	fmt.Fprintf(w, "%d CRDs established in %s; rss %.1f -> %.1f MiB (+%.1f MiB); go heap in use %.1f -> %.1f MiB (+%.1f MiB)\n", r.CRDs, r.Established.Round(time.Millisecond),
		harness.MiB(r.RSSBefore), harness.MiB(r.RSSAfter), harness.MiB(r.RSSAfter)-harness.MiB(r.RSSBefore),
		harness.MiB(r.HeapBefore), harness.MiB(r.HeapAfter), harness.MiB(r.HeapAfter)-harness.MiB(r.HeapBefore))
	fmt.Fprintln(w, r.IdleAfter.growth(r.IdleBefore))
	fmt.Fprintf(w, "  install: %s\n", r.Install)
	fmt.Fprintf(w, "pods:           %d (%d clients, json): %.0f creates/s, p99 %.1f ms, failed %d\n", r.Objects, r.Clients, r.PodsPerSec, ms(r.PodP99), r.PodFailed)
	fmt.Fprintf(w, "  %s; %s\n", r.Pods, r.Pods.perObject(r.Objects))
	fmt.Fprintf(w, "custom objects: %d (%d clients, json, 20-field schema, 2 CEL rules): %.0f creates/s, p99 %.1f ms, failed %d\n", r.Objects, r.Clients, r.CustomPerSec, ms(r.CustomP99), r.CustomFailed)
	fmt.Fprintf(w, "  %s; %s\n", r.Custom, r.Custom.perObject(r.Objects))
	fmt.Fprintf(w, "pods again:     %d (%d clients, json): %.0f creates/s, p99 %.1f ms, failed %d\n", r.Objects, r.Clients, r.PodsAfterPerSec, ms(r.PodAfterP99), r.PodAfterFailed)
	fmt.Fprintf(w, "  %s; %s\n", r.PodsAfter, r.PodsAfter.perObject(r.Objects))
	if r.Pods.CPU > 0 && r.Custom.CPU > 0 && r.PodsAfter.CPU > 0 {
		fmt.Fprintf(w, "server cpu per custom object / per pod: %.0f%% (first pods), %.0f%% (pods on both sides)\n",
			100*float64(r.Custom.CPU)/float64(r.Pods.CPU), 200*float64(r.Custom.CPU)/float64(r.Pods.CPU+r.PodsAfter.CPU))
	}
	if r.PodsPerSec > 0 && r.PodsAfterPerSec > 0 {
		fmt.Fprintf(w, "custom objects / pods: %.0f%% (first pods), %.0f%% (mean of the pods on both sides)\n",
			100*r.CustomPerSec/r.PodsPerSec, 200*r.CustomPerSec/(r.PodsPerSec+r.PodsAfterPerSec))
	}
	fmt.Fprintf(w, "load after: %s\n", r.LoadAfter)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

var benchGVR = schema.GroupVersionResource{Group: "bench.kemudi.io", Version: "v1", Resource: "widgets"}

// RunCustomResources starts a server, installs 100 CRDs at once, then
// creates a fifth of opts.Pods pods to warm up, opts.Pods pods, as many
// custom objects and as many pods again with opts.Clients clients, and
// stops it. opts.InstallProfile is a CPU profile of the
// install, opts.CPUProfile one of the custom object creates (each
// opts.CPUProfileDuration long); opts.HeapProfile is the heap once the
// CRDs are established and settled, and <HeapProfile>.before the heap
// before they were installed (`go tool pprof -base`), <HeapProfile>.end
// after the creates (alloc_space against HeapProfile: the creates').
func RunCustomResources(ctx context.Context, opts Options) (*CRDResult, error) {
	opts.defaults()
	progress := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "apibench: "+format+"\n", args...)
		}
	}
	res := &CRDResult{Objects: opts.Pods, Clients: opts.Clients, CRDs: 100, LoadBefore: harness.LoadAvg()}
	serverOpts := opts.Server
	if serverOpts.Role == "" {
		serverOpts.Role = "apiserver"
	}
	srv, err := harness.Start(ctx, serverOpts)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	// A reading runs server code the idle server has not run since its
	// start released its pages (/metrics, the heap profile): read once
	// and discard it, or the pages that code faults in (20-30 MiB of the
	// binary's text) count as growth from the CRDs.
	if _, err := readIdleMemory(ctx, srv, 0); err != nil {
		return nil, err
	}
	progress("ready on %s; settling %s", srv.URL, opts.Settle)
	time.Sleep(opts.Settle)
	if res.IdleBefore, err = readIdleMemory(ctx, srv, opts.Settle); err != nil {
		return nil, err
	}
	res.RSSBefore, res.MemBefore, res.HeapBefore = res.IdleBefore.RSS, res.IdleBefore.Memory, res.IdleBefore.Heap
	if opts.HeapProfile != "" {
		if err := srv.HeapProfile(ctx, opts.HeapProfile+".before"); err != nil {
			return nil, err
		}
	}
	before := readCounters(ctx, srv)
	ext, err := apiextensionsclient.NewForConfig(benchConfig(srv.Config, "crds"))
	if err != nil {
		return nil, err
	}

	progress("installing %d CRDs at once", res.CRDs)
	installProf := profileAsync(ctx, srv, opts.InstallProfile, opts.CPUProfileDuration)
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, res.CRDs+1)
	for i := 0; i < res.CRDs; i++ {
		wg.Go(func() {
			crd := benchCRD(fmt.Sprintf("gadget%03ds", i), "bench.kemudi.io")
			if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, crd, metav1.CreateOptions{}); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return nil, fmt.Errorf("create CRD: %w", err)
	default:
	}
	if err := waitEstablished(ctx, ext, res.CRDs); err != nil {
		return nil, err
	}
	res.Established = time.Since(start)
	res.Install = readCounters(ctx, srv).since(before)
	if err := <-installProf; err != nil {
		return nil, err
	}
	time.Sleep(opts.Settle)
	if res.IdleAfter, err = readIdleMemory(ctx, srv, opts.Settle); err != nil {
		return nil, err
	}
	res.RSSAfter, res.MemAfter, res.HeapAfter = res.IdleAfter.RSS, res.IdleAfter.Memory, res.IdleAfter.Heap
	if opts.HeapProfile != "" {
		if err := srv.HeapProfile(ctx, opts.HeapProfile); err != nil {
			return nil, err
		}
	}
	progress("established in %s", res.Established)

	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, benchCRD("widgets", "bench.kemudi.io"), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if err := waitEstablished(ctx, ext, res.CRDs+1); err != nil {
		return nil, err
	}
	// The server describes new CRDs in /openapi/v2 in the background; a
	// read of it waits for that, so that the build does not overlap (and
	// slow) the pod creates measured next.
	if _, err := getServer(ctx, srv.Config, srv.URL+"/openapi/v2"); err != nil {
		return nil, fmt.Errorf("openapi after the CRDs: %w", err)
	}
	// It waits boundedly: wait for the server's CPU to go quiet too.
	if idle := waitIdle(ctx, srv); idle > time.Second {
		progress("server busy for %s after the CRDs", idle.Round(time.Millisecond))
	}
	var warnings atomic.Int64
	admin, err := newClient(srv.Config, "admin", false, &warnings)
	if err != nil {
		return nil, err
	}
	if err := createNamespace(ctx, admin, opts.Namespace); err != nil {
		return nil, err
	}
	typed := make([]*client, opts.Clients)
	dyn := make([]dynamic.Interface, opts.Clients)
	for i := range typed {
		if typed[i], err = newClient(srv.Config, fmt.Sprint(i), false, &warnings); err != nil {
			return nil, err
		}
		if dyn[i], err = dynamic.NewForConfig(benchConfig(srv.Config, fmt.Sprint("dyn", i))); err != nil {
			return nil, err
		}
	}
	// A warm-up, not measured: the first thousands of creates on a
	// fresh server run slower (connections, caches, the heap's first
	// growth), which made the first phase's pods the slowest of a run.
	warm := max(opts.Pods/5, 1)
	progress("warming up with %d pods", warm)
	var warmErrs []string
	if _, _, failed := createAll(ctx, warm, opts.Clients, func(c, i int) error {
		_, err := typed[c].CoreV1().Pods(opts.Namespace).Create(ctx, smallPod(opts.Namespace, fmt.Sprintf("warm-%06d", i)), metav1.CreateOptions{})
		return err
	}, &warmErrs); failed > 0 {
		return nil, fmt.Errorf("warm-up: %d creates failed: %v", failed, warmErrs)
	}
	progress("creating %d pods", opts.Pods)
	c0 := readCounters(ctx, srv)
	res.PodsPerSec, res.PodP99, res.PodFailed = createAll(ctx, opts.Pods, opts.Clients, func(c, i int) error {
		_, err := typed[c].CoreV1().Pods(opts.Namespace).Create(ctx, smallPod(opts.Namespace, fmt.Sprintf("bench-%06d", i)), metav1.CreateOptions{})
		return err
	}, &res.Errors)
	c1 := readCounters(ctx, srv)
	res.Pods = c1.since(c0)
	progress("creating %d custom objects", opts.Pods)
	customProf := profileAsync(ctx, srv, opts.CPUProfile, opts.CPUProfileDuration)
	c1 = readCounters(ctx, srv)
	res.CustomPerSec, res.CustomP99, res.CustomFailed = createAll(ctx, opts.Pods, opts.Clients, func(c, i int) error {
		_, err := dyn[c].Resource(benchGVR).Namespace(opts.Namespace).Create(ctx, widget(opts.Namespace, fmt.Sprintf("bench-%06d", i)), metav1.CreateOptions{})
		return err
	}, &res.Errors)
	res.Custom = readCounters(ctx, srv).since(c1)
	if opts.HeapProfile != "" {
		if err := srv.HeapProfile(ctx, opts.HeapProfile+".end"); err != nil {
			return nil, err
		}
	}
	if err := <-customProf; err != nil {
		return nil, err
	}
	progress("creating %d pods again", opts.Pods)
	c2 := readCounters(ctx, srv)
	res.PodsAfterPerSec, res.PodAfterP99, res.PodAfterFailed = createAll(ctx, opts.Pods, opts.Clients, func(c, i int) error {
		_, err := typed[c].CoreV1().Pods(opts.Namespace).Create(ctx, smallPod(opts.Namespace, fmt.Sprintf("again-%06d", i)), metav1.CreateOptions{})
		return err
	}, &res.Errors)
	res.PodsAfter = readCounters(ctx, srv).since(c2)
	res.LoadAfter = harness.LoadAvg()
	_ = srv.Stop()
	return res, nil
}

// waitIdle waits, at most a minute, until the server uses less than 10%
// of a core over half a second, and returns how long that took.
func waitIdle(ctx context.Context, srv *harness.Server) time.Duration {
	start := time.Now()
	const window = 500 * time.Millisecond
	for time.Since(start) < time.Minute && ctx.Err() == nil {
		c0, err := harness.CPUTime(srv.PID)
		if err != nil {
			break
		}
		time.Sleep(window)
		c1, err := harness.CPUTime(srv.PID)
		if err != nil || c1-c0 < window/10 {
			break
		}
	}
	return time.Since(start)
}

// profileAsync records a CPU profile of the server to path for d, in
// the background; the channel gives its error once written (nil at once
// when path is empty).
func profileAsync(ctx context.Context, srv *harness.Server, path string, d time.Duration) <-chan error {
	done := make(chan error, 1)
	if path == "" {
		done <- nil
		return done
	}
	go func() { done <- srv.CPUProfile(ctx, d, path) }()
	return done
}

// createAll runs n creates on clients workers and returns the rate, the
// p99 latency and the failures.
func createAll(ctx context.Context, n, clients int, create func(client, i int) error, errs *[]string) (float64, time.Duration, int) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	began := time.Now()
	for c := 0; c < clients; c++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				err := create(c, i)
				lat[i] = time.Since(t)
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if len(*errs) < maxErrors {
						*errs = append(*errs, err.Error())
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	return float64(n-int(failed.Load())) / elapsed.Seconds(), Summarize(lat).P99, int(failed.Load())
}

// waitEstablished waits until want CRDs are Established, watching them
// as `kubectl wait --for condition=Established` does (polling lists of
// 100 CRDs would load the server it measures).
func waitEstablished(ctx context.Context, ext apiextensionsclient.Interface, want int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	crds := ext.ApiextensionsV1().CustomResourceDefinitions()
	for {
		list, err := crds.List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("CRDs not established: %w", err)
		}
		established := map[string]bool{}
		for i := range list.Items {
			established[list.Items[i].Name] = isEstablished(&list.Items[i])
		}
		if countTrue(established) >= want {
			return nil
		}
		w, err := crds.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
		if err != nil {
			return fmt.Errorf("CRDs not established: %w", err)
		}
		for ev := range w.ResultChan() {
			crd, ok := ev.Object.(*apiextensionsv1.CustomResourceDefinition)
			if !ok {
				continue
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				established[crd.Name] = isEstablished(crd)
			case watch.Deleted:
				delete(established, crd.Name)
			}
			if countTrue(established) >= want {
				w.Stop()
				return nil
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return fmt.Errorf("CRDs not established after 2 minutes: %w", ctx.Err())
		}
		// The watch ended early: list again.
	}
}

func isEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// benchConfig is a client config on a connection of its own, loopback
// only, without client-side rate limits.
func benchConfig(base *rest.Config, name string) *rest.Config {
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.UserAgent = "kemudi-apibench/" + name
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("apibench dials loopback only, not %s", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	return cfg
}

// benchCRD is a namespaced CRD whose schema has 20 fields and 2 CEL rules.
func benchCRD(plural, group string) *apiextensionsv1.CustomResourceDefinition {
	props := map[string]apiextensionsv1.JSONSchemaProps{}
	for i := 1; i <= 20; i++ {
		p := apiextensionsv1.JSONSchemaProps{Type: "string", MaxLength: ptr(int64(64))}
		if i%2 == 0 {
			p = apiextensionsv1.JSONSchemaProps{Type: "integer", Minimum: ptr(0.0)}
		}
		props[fmt.Sprintf("f%02d", i)] = p
	}
	kind := strings.ToUpper(plural[:1]) + strings.TrimSuffix(plural[1:], "s")
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {
						Type: "object", Properties: props,
						XValidations: apiextensionsv1.ValidationRules{
							{Rule: "self.f02 <= self.f04 + 1000", Message: "f02 too large"},
							{Rule: "!has(self.f01) || self.f01.startsWith('w')", Message: "f01 must start with w"},
						},
					}},
				}},
			}},
		},
	}
}

func widget(ns, name string) *unstructured.Unstructured {
	spec := map[string]interface{}{}
	for i := 1; i <= 20; i++ {
		if i%2 == 0 {
			spec[fmt.Sprintf("f%02d", i)] = int64(i)
		} else {
			spec[fmt.Sprintf("f%02d", i)] = fmt.Sprintf("w-value-%d", i)
		}
	}
	return &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "bench.kemudi.io/v1", "kind": "Widget",
		"metadata": map[string]interface{}{"name": name, "namespace": ns, "labels": map[string]interface{}{"app": "apibench"}},
		"spec":     spec,
	}}
}

func ptr[T any](v T) *T { return &v }
