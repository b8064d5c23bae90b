package dnsbench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/bench/harness"
)

// Options size the benchmark.
type Options struct {
	Services int
	Duration time.Duration
	Rate     int
	// Settle is how long the server rests after the load before its
	// memory at rest is read (default 15 s: it trims itself once quiet).
	Settle   time.Duration
	Server   harness.Options
	Progress io.Writer
}

// Result is what one run measured.
type Result struct {
	Services   int
	Queries    int
	Lost       int
	QPS        float64 // wall clock
	CPU        time.Duration
	QPSPerCore float64
	P50, P99   time.Duration
	Memory     harness.Memory
	PSS        harness.PSS
	// Rest and RestPSS are read Options.Settle after the load.
	Rest         harness.Memory
	RestPSS      harness.PSS
	Settle       time.Duration
	ServicesLoad time.Duration
}

// Print writes the result beside the targets.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "services            %d (created in %s)\n", r.Services, r.ServicesLoad.Round(time.Millisecond))
	fmt.Fprintf(w, "queries             %d answered, %d lost, %.0f/s wall clock\n", r.Queries, r.Lost, r.QPS)
	fmt.Fprintf(w, "dns CPU             %s → %.0f QPS per core (target ≥ 40000)\n", r.CPU.Round(time.Millisecond), r.QPSPerCore)
	fmt.Fprintf(w, "latency at rate     p50 %s, p99 %s (target p99 ≤ 2ms)\n", r.P50, r.P99)
	fmt.Fprintf(w, "dns memory          %s (target ≤ 30 MiB)\n", r.Memory)
	fmt.Fprintf(w, "dns pss             %s\n", r.PSS)
	fmt.Fprintf(w, "dns at rest         %s, %s (%s after the load)\n", r.Rest, r.RestPSS, r.Settle)
}

// Run runs the benchmark.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Services == 0 {
		o.Services = 10000
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Rate == 0 {
		o.Rate = 20000
	}
	if o.Settle == 0 {
		o.Settle = 15 * time.Second
	}
	o.Server.Role = "apiserver"
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	bin, cleanup, err := harness.Binary(ctx, o.Server.Binary)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if err := settle(bin); err != nil {
		return nil, err
	}
	o.Server.Binary = bin
	srv, err := harness.Start(ctx, o.Server)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	res := &Result{Services: o.Services}
	start := time.Now()
	if err := createServices(ctx, kubernetes.NewForConfigOrDie(srv.Config), o.Services); err != nil {
		return nil, err
	}
	res.ServicesLoad = time.Since(start)
	progress("created %d services in %s", o.Services, res.ServicesLoad)

	dnsPort, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	httpPort, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	// The upstream is a closed loopback port: the benchmark asks only
	// cluster names, and nothing may leave the machine.
	p, err := harness.StartProcess("dns", bin, "serving cluster DNS", o.Progress, "dns", "--kubeconfig", srv.Kubeconfig,
		"--listen", fmt.Sprintf("127.0.0.1:%d", dnsPort), "--http-address", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--upstream", "127.0.0.1:9")
	if err != nil {
		return nil, err
	}
	defer p.Stop(10 * time.Second)
	if err := p.WaitReady(time.Minute); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dnsbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	queries := filepath.Join(dir, "queries")
	if err := writeQueries(queries, o.Services); err != nil {
		return nil, err
	}
	port := strconv.Itoa(dnsPort)
	// Warm up (first touches of the snapshot, the Go runtime's growth).
	if _, err := dnsperf(ctx, "-s", "127.0.0.1", "-p", port, "-d", queries, "-l", "2", "-c", "4", "-T", "1"); err != nil {
		return nil, err
	}
	cpu0, err := harness.CPUTime(p.PID)
	if err != nil {
		return nil, err
	}
	out, err := dnsperf(ctx, "-s", "127.0.0.1", "-p", port, "-d", queries, "-l", strconv.Itoa(int(o.Duration.Seconds())), "-c", "4", "-T", "1", "-q", "200")
	if err != nil {
		return nil, err
	}
	cpu1, err := harness.CPUTime(p.PID)
	if err != nil {
		return nil, err
	}
	res.CPU = cpu1 - cpu0
	if res.Queries, res.Lost, res.QPS, err = parseSummary(out); err != nil {
		return nil, err
	}
	res.QPSPerCore = float64(res.Queries) / res.CPU.Seconds()
	progress("throughput: %d queries, %.0f/s, %s CPU", res.Queries, res.QPS, res.CPU)

	out, err = dnsperf(ctx, "-s", "127.0.0.1", "-p", port, "-d", queries, "-l", "5", "-c", "4", "-T", "1", "-Q", strconv.Itoa(o.Rate), "-v")
	if err != nil {
		return nil, err
	}
	lat := parseLatencies(out)
	if len(lat) == 0 {
		return nil, fmt.Errorf("dnsperf -v printed no latencies")
	}
	slices.Sort(lat)
	res.P50, res.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	if res.Memory, err = harness.ReadMemory(p.PID); err != nil {
		return nil, err
	}
	if res.PSS, err = harness.ReadPSS(p.PID); err != nil {
		return nil, err
	}
	res.Settle = o.Settle
	select {
	case <-time.After(o.Settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.Rest, err = harness.ReadMemory(p.PID); err != nil {
		return nil, err
	}
	if res.RestPSS, err = harness.ReadPSS(p.PID); err != nil {
		return nil, err
	}
	return res, nil
}

// createServices writes n ClusterIP services in namespace "bench" with
// 16 clients.
func createServices(ctx context.Context, c kubernetes.Interface, n int) error {
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	next := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range next {
				_, err := c.CoreV1().Services("bench").Create(ctx, &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i)},
					Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
				}, metav1.CreateOptions{})
				if err != nil {
					errs <- fmt.Errorf("create service %d: %w", i, err)
					return
				}
			}
		})
	}
	var err error
loop:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break loop
		}
	}
	close(next)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return err
}

// writeQueries writes dnsperf's input: A questions for random services.
func writeQueries(path string, n int) error {
	var b bytes.Buffer
	for range 10000 {
		fmt.Fprintf(&b, "svc-%d.bench.svc.cluster.local A\n", rand.IntN(n))
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func dnsperf(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "dnsperf", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("dnsperf %s: %w: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// parseSummary reads "Queries completed: N", "Queries lost: N" and
// "Queries per second: X" from dnsperf's summary.
func parseSummary(out string) (completed, lost int, qps float64, err error) {
	found := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "Queries completed":
			completed, err = strconv.Atoi(f[0])
			found++
		case "Queries lost":
			lost, err = strconv.Atoi(f[0])
			found++
		case "Queries per second":
			qps, err = strconv.ParseFloat(f[0], 64)
			found++
		}
		if err != nil {
			return 0, 0, 0, fmt.Errorf("dnsperf summary %q: %w", sc.Text(), err)
		}
	}
	if found != 3 {
		return 0, 0, 0, fmt.Errorf("dnsperf summary not understood:\n%s", out)
	}
	return completed, lost, qps, nil
}

// parseLatencies reads the per-query lines of dnsperf -v: "> RCODE name
// type latency-seconds".
func parseLatencies(out string) []time.Duration {
	var lat []time.Duration
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "> ") {
			continue
		}
		f := strings.Fields(line)
		s, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		lat = append(lat, time.Duration(s*float64(time.Second)))
	}
	return lat
}
