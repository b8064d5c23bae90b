package streambench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/kemudi/kemudi/bench/harness"
)

// Sizes of what is moved.
const (
	bigFileMiB = 256
	logMiB     = 100
)

// pods are the benchmark's pods: web serves a big file from memory,
// talker wrote logMiB of log lines and then DONE.
const pods = `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: www, emptyDir: {medium: Memory}}]
  containers:
  - name: web
    image: IMAGE
    volumeMounts: [{name: www, mountPath: /www}]
    command: [sh, -c, "head -c BIG /dev/zero > /www/big && echo ok > /www/ok && exec httpd -f -p 80 -h /www"]
    readinessProbe: {httpGet: {path: /ok, port: 80}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: talker
    image: IMAGE
    command: [sh, -c, "yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c LOGBYTES; echo; echo DONE; exec sleep 3600"]
`

// Result is one runtime's figures.
type Result struct {
	Runtime                string
	Execs                  int
	KubectlP50, KubectlP99 time.Duration
	// KubectlGetP50, P99: `kubectl get pod web`, kubectl's own start and
	// one request, the floor under a kubectl exec.
	KubectlGetP50, KubectlGetP99 time.Duration
	ClientGoP50, ClientGoP99     time.Duration
	ForwardMiBs, LogsMiBs        float64
	// ClientGoLogsMiBs: the same log read through client-go into
	// nothing, without kubectl writing each line on its own.
	ClientGoLogsMiBs float64
	// KubectlCeilingMiBs: kubectl logs from a server answering from
	// memory, kubectl's own limit.
	KubectlCeilingMiBs float64
	// The same over SPDY (kubectl's fallback, forced by its environment
	// variables; client-go's SPDY executor).
	KubectlSPDYP50, KubectlSPDYP99   time.Duration
	ClientGoSPDYP50, ClientGoSPDYP99 time.Duration
	ForwardSPDYMiBs                  float64
	// CPU time per GiB forwarded (WebSocket, SPDY): the figure the
	// shared machine's load does not move.
	ForwardCPU, ForwardSPDYCPU sideCPU
	// ExecCPU: CPU time a client-go exec (WebSocket) cost each side.
	ExecCPU               sideCPU
	LoadBefore, LoadAfter string
	LogBytes              int64
	SPDY                  bool // client-go's exec took SPDY: WebSocket was refused
}

// makePods applies the pods and waits until both are ready for use.
func (n *node) makePods(ctx context.Context) error {
	r := bytes.NewBufferString("")
	manifest := pods
	for old, new := range map[string]string{"IMAGE": n.rt.Images["busybox"], "BIG": strconv.Itoa(bigFileMiB << 20),
		"LOGBYTES": strconv.Itoa(logMiB << 20)} {
		manifest = replaceAll(manifest, old, new)
	}
	r.WriteString(manifest)
	path := filepath.Join(n.rt.Dir, "pods.yaml")
	if err := os.WriteFile(path, r.Bytes(), 0o644); err != nil {
		return err
	}
	if out, err := n.kubectl(ctx, "apply", "-f", path); err != nil {
		return fmt.Errorf("apply: %v: %s", err, out)
	}
	if err := n.waitKubectl(ctx, "default service account", 2*time.Minute, func(s string) bool { return s == "default" },
		"get", "serviceaccount", "default", "-o", "jsonpath={.metadata.name}"); err != nil {
		return err
	}
	if out, err := n.kubectl(ctx, "wait", "--for=condition=Ready", "pod/web", "pod/talker", "--timeout=180s"); err != nil {
		desc, _ := n.kubectl(ctx, "describe", "pods")
		return fmt.Errorf("pods Ready: %v: %s\n%s", err, out, desc)
	}
	return n.waitKubectl(ctx, "talker wrote its log", 3*time.Minute, func(s string) bool { return s == "DONE" },
		"logs", "talker", "--tail=1")
}

func replaceAll(s, old, new string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(old), []byte(new)))
}

// execKubectl times `kubectl exec web -- true`, count times, with env
// added to kubectl's environment.
func (n *node) execKubectl(ctx context.Context, count int, env ...string) ([]time.Duration, error) {
	out := make([]time.Duration, 0, count)
	for range count {
		start := time.Now()
		if o, err := n.kubectlEnv(ctx, env, "exec", "web", "--", "true"); err != nil {
			return nil, fmt.Errorf("kubectl exec: %v: %s", err, o)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// getKubectl times `kubectl get pod web -o name`, count times: what
// kubectl costs before an exec's own work (its start, the TLS
// handshake, the GET of the pod that kubectl exec makes too).
func (n *node) getKubectl(ctx context.Context, count int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, count)
	for range count {
		start := time.Now()
		if o, err := n.kubectl(ctx, "get", "pod", "web", "-o", "name"); err != nil {
			return nil, fmt.Errorf("kubectl get: %v: %s", err, o)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// execClientGo times the same exec through client-go's WebSocket
// executor (or its SPDY one), in this process.
func (n *node) execClientGo(ctx context.Context, count int, spdy bool) ([]time.Duration, error) {
	u, err := url.Parse(n.config.Host)
	if err != nil {
		return nil, err
	}
	u.Path = "/api/v1/namespaces/default/pods/web/exec"
	u.RawQuery = url.Values{"command": {"true"}, "stdout": {"true"}, "stderr": {"true"}, "container": {"web"}}.Encode()
	exec := func(useSPDY bool) error {
		ex, err := n.executor(u, useSPDY)
		if err != nil {
			return err
		}
		var stdout, stderr bytes.Buffer
		if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
			return fmt.Errorf("exec: %v: %s", err, stderr.String())
		}
		return nil
	}
	// The protocol is chosen once, as kubectl's fallback would each time.
	if !spdy {
		n.spdy = exec(false) != nil
		spdy = n.spdy
	}
	out := make([]time.Duration, 0, count)
	for range count {
		start := time.Now()
		if err := exec(spdy); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// executor is WebSocket (kubectl's first choice) or SPDY, its fallback.
func (n *node) executor(u *url.URL, useSPDY bool) (remotecommand.Executor, error) {
	if useSPDY {
		return remotecommand.NewSPDYExecutor(n.config, http.MethodPost, u)
	}
	return remotecommand.NewWebSocketExecutor(n.config, http.MethodGet, u.String())
}

// sideCPU is CPU time by side: the server (API server and kubelet), the
// runtime's processes, and the client (client-go in this process, or
// kubectl).
type sideCPU struct{ Server, Runtime, Client time.Duration }

func (c sideCPU) String() string {
	ms := func(d time.Duration) string {
		if d >= 100*time.Millisecond {
			return strconv.FormatInt(d.Milliseconds(), 10)
		}
		return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
	}
	return ms(c.Server) + " / " + ms(c.Runtime) + " / " + ms(c.Client) + " ms"
}

// cpuNow reads the sides' CPU time so far; the client is clientPIDs, or
// this process when there are none.
func (n *node) cpuNow(clientPIDs ...int) sideCPU {
	client := harness.SelfCPUTime()
	if len(clientPIDs) > 0 {
		client = cpuOf(clientPIDs)
	}
	return sideCPU{Server: cpuOf(n.serverPIDs()), Runtime: cpuOf(n.runtimePIDs()), Client: client}
}

// per is the CPU spent since before, scaled by scale and divided by
// units: per exec (units execs, scale 1), per GiB (units MiB, scale 1024).
func (c sideCPU) per(before sideCPU, units, scale int) sideCPU {
	f := func(now, then time.Duration) time.Duration {
		return (now - then) * time.Duration(scale) / time.Duration(units)
	}
	return sideCPU{Server: f(c.Server, before.Server), Runtime: f(c.Runtime, before.Runtime), Client: f(c.Client, before.Client)}
}

// cpuOf sums the CPU time the processes have used so far.
func cpuOf(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		t, _ := harness.CPUTime(pid)
		sum += t
	}
	return sum
}

// runtimePIDs are the runtime's processes (daemon, shims, supervisor):
// those naming its directory, the server's and kubelet's aside.
func (n *node) runtimePIDs() []int {
	var out []int
	for _, pid := range harness.ProcessesMentioning(n.rt.Dir) {
		if !slices.Contains(n.serverPIDs(), pid) {
			out = append(out, pid)
		}
	}
	return out
}

// forward times GETs of the big file through `kubectl port-forward`
// with env added to its environment; it returns the median MiB/s and
// the CPU time spent per GiB.
func (n *node) forward(ctx context.Context, runs int, env ...string) (float64, sideCPU, error) {
	port, err := harness.FreePort()
	if err != nil {
		return 0, sideCPU{}, err
	}
	lp := strconv.Itoa(port)
	args := append(append([]string{"--net=" + n.rt.NetNS, "env"}, env...), n.bin, "kubectl")
	p, err := harness.StartProcess("port-forward", "nsenter", "Forwarding from 127.0.0.1:"+lp, nil,
		append(args, "--kubeconfig", n.kubeconfig, "port-forward", "pod/web", lp+":80")...)
	if err != nil {
		return 0, sideCPU{}, err
	}
	defer func() { _ = p.Stop(10 * time.Second) }()
	if err := p.WaitReady(time.Minute); err != nil {
		return 0, sideCPU{}, fmt.Errorf("port-forward: %v\n%s", err, p.Tail())
	}
	before := n.cpuNow(p.PID)
	client := &http.Client{Transport: &http.Transport{DialContext: n.rt.Dial, DisableCompression: true}}
	var rates []float64
	for range runs {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+lp+"/big", nil)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, sideCPU{}, fmt.Errorf("GET through port-forward: %w", err)
		}
		got, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || got != bigFileMiB<<20 {
			return 0, sideCPU{}, fmt.Errorf("GET through port-forward: %d bytes, %v", got, err)
		}
		rates = append(rates, harness.MiB(uint64(got))/time.Since(start).Seconds())
	}
	return median(rates), n.cpuNow(p.PID).per(before, runs*bigFileMiB, 1024), nil
}

// countWriter counts what passes.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// logs times `kubectl logs talker`; it returns the median MiB/s.
func (n *node) logs(ctx context.Context, runs int) (float64, int64, error) {
	var rates []float64
	var got int64
	for range runs {
		var w countWriter
		var stderr bytes.Buffer
		cmd := n.kubectlCmd(ctx, "logs", "talker")
		cmd.Stdout, cmd.Stderr = &w, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, 0, fmt.Errorf("kubectl logs: %v: %s", err, stderr.String())
		}
		if w.n < logMiB<<20 {
			return 0, 0, fmt.Errorf("kubectl logs: %d bytes, want at least %d", w.n, logMiB<<20)
		}
		got = w.n
		rates = append(rates, harness.MiB(uint64(w.n))/time.Since(start).Seconds())
	}
	return median(rates), got, nil
}

// logsClientGo reads talker's log through client-go's GetLogs stream
// (the API server's pods/log, the kubelet's /containerLogs) and drops
// it: the server's part of `kubectl logs`, without kubectl's one
// write(2) a line. It returns the median MiB/s.
func (n *node) logsClientGo(ctx context.Context, runs int) (float64, error) {
	var rates []float64
	for range runs {
		start := time.Now()
		rc, err := n.client.CoreV1().Pods("default").GetLogs("talker", &corev1.PodLogOptions{}).Stream(ctx)
		if err != nil {
			return 0, fmt.Errorf("client-go logs: %w", err)
		}
		got, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return 0, fmt.Errorf("client-go logs: %w", err)
		}
		if got < logMiB<<20 {
			return 0, fmt.Errorf("client-go logs: %d bytes, want at least %d", got, logMiB<<20)
		}
		rates = append(rates, harness.MiB(uint64(got))/time.Since(start).Seconds())
	}
	return median(rates), nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// pct is the p-th percentile of d.
func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(i-1, len(s)-1))]
}

// profile fetches a CPU profile of the server for d into dir, while the
// caller measures; wait returns when it is written.
func (n *node) profile(ctx context.Context, dir, name string, d time.Duration) (wait func()) {
	if dir == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		path := filepath.Join(dir, n.name+"-"+name+".pprof")
		cmd := n.kubectlCmd(ctx, "get", "--raw", "/debug/pprof/profile?seconds="+strconv.Itoa(int(d.Seconds())))
		f, err := os.Create(path)
		if err != nil {
			return
		}
		defer f.Close()
		cmd.Stdout = f
		_ = cmd.Run()
	}()
	return func() { <-done }
}
