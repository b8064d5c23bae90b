package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options configure Start.
type Options struct {
	// Binary is the kemudi binary; empty uses $KEMUDI_BIN or builds one.
	Binary string
	// TempRoot is where the data directory is made (etcd's WAL lives
	// there, so its file system matters); empty is os.TempDir().
	TempRoot string
	// ReadyTimeout bounds the wait for /readyz; zero is two minutes.
	ReadyTimeout time.Duration
	// StopTimeout bounds the wait after SIGTERM before SIGKILL; zero is
	// 30 seconds.
	StopTimeout time.Duration
	// Output, if set, receives the server's standard output and error.
	Output io.Writer
	// Args are extra flags for `kemudi server` (e.g. --disable scheduler).
	Args []string
	// Role is the command that runs: "server" (the default: etcd, API
	// server, scheduler, controllers) or "apiserver" (etcd and the API
	// server alone).
	Role string
	// Agent lets `kemudi server` run its node (runtime and kubelet) on
	// this machine; off, the server runs with --disable-agent, as
	// control-plane benchmarks want (their nodes are simulated).
	Agent bool
	// Registry lets `kemudi server` run its embedded registry, on the
	// machine's fixed port 5000; off, it runs with --disable registry, so
	// that several servers on one machine (tests in parallel) do not
	// fight over that port.
	Registry bool
}

// Server is a running `kemudi server` process.
type Server struct {
	PID        int
	Port       int
	URL        string
	DataDir    string
	Kubeconfig string
	// Config is the admin's client config (client certificate), with
	// client-side rate limits lifted.
	Config *rest.Config

	opts       Options
	tempDir    string
	binCleanup func()
	proc       *Process // nil until started
	closeOnce  sync.Once
}

// Start runs `kemudi server` on a fresh data directory and a free
// loopback port, and returns once /readyz answers ok. On error nothing
// is left running or on disk. Callers defer Close.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 2 * time.Minute
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 30 * time.Second
	}
	bin, binCleanup, err := Binary(ctx, opts.Binary)
	if err != nil {
		return nil, err
	}
	tempDir, err := os.MkdirTemp(opts.TempRoot, "kemudi-bench-")
	if err != nil {
		binCleanup()
		return nil, err
	}
	s := &Server{opts: opts, tempDir: tempDir, binCleanup: binCleanup}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// The port is free when picked but another process may take it
	// before the server binds it: try again on a new port then.
	for attempt := 1; ; attempt++ {
		err = s.start(ctx, bin, attempt)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			return s, err
		}
	}
}

var errPortTaken = errors.New("port taken")

func (s *Server) start(ctx context.Context, bin string, attempt int) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	s.Port = port
	s.URL = "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.DataDir = filepath.Join(s.tempDir, fmt.Sprintf("data-%d", attempt))
	s.Kubeconfig = filepath.Join(s.DataDir, "admin.kubeconfig")
	role := s.opts.Role
	if role == "" {
		role = "server"
	}
	cmd := exec.Command(bin, role,
		"--data-dir", s.DataDir,
		"--https-listen-port", strconv.Itoa(port),
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1")
	if role == "server" && !s.opts.Agent {
		cmd.Args = append(cmd.Args, "--disable-agent")
	}
	if role == "server" && !s.opts.Registry {
		cmd.Args = append(cmd.Args, "--disable", "registry")
	}
	cmd.Args = append(cmd.Args, s.opts.Args...)
	cmd.Env = append(os.Environ(), "HOME="+s.tempDir)
	proc, err := startProcess(cmd, "server", newLogScanner(s.opts.Output, "", readyLine))
	if err != nil {
		return fmt.Errorf("start %s server: %w", bin, err)
	}
	s.proc, s.PID = proc, proc.PID
	if err := s.waitReady(ctx); err != nil {
		if s.Exited() && strings.Contains(proc.Tail(), "address already in use") {
			return errPortTaken
		}
		proc.Kill()
		return fmt.Errorf("%w\nserver output (tail):\n%s", err, proc.Tail())
	}
	return nil
}

// FreePort is a loopback TCP port free when asked.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// readyLine is what `kemudi server` logs once it has started: etcd open,
// the API serving and the system objects (namespaces, the kubernetes
// service, bootstrap RBAC) created.
const readyLine = "API server ready"

// waitReady waits for the admin kubeconfig to be written and /readyz to
// answer ok through it, and for the server to log that it finished
// starting: its /readyz answers ok before the system objects exist, and
// a SIGTERM then makes it exit with an error.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = s.probeReady(ctx); last == nil {
			select {
			case <-s.proc.logs.ready:
				return nil
			default:
				last = fmt.Errorf("/readyz ok but no %q in the log yet", readyLine)
			}
		}
		select {
		case <-s.proc.exited:
			return fmt.Errorf("server exited before ready: %v", s.proc.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("server not ready after %s: %v", s.opts.ReadyTimeout, last)
		case <-tick.C:
		}
	}
}

func (s *Server) probeReady(ctx context.Context) error {
	if s.Config == nil {
		// The kubeconfig may be half written: parse errors just retry.
		cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
		if err != nil {
			return err
		}
		if cfg.Host != s.URL {
			return fmt.Errorf("kubeconfig names %s, want %s", cfg.Host, s.URL)
		}
		cfg.QPS, cfg.Burst = -1, 0
		cfg.UserAgent = "kemudi-bench-admin"
		s.Config = cfg
	}
	body, err := s.get(ctx, "/readyz", 5*time.Second)
	if err != nil {
		s.Config = nil
		return err
	}
	if strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("/readyz: %q", body)
	}
	return nil
}

// get GETs path with the admin credentials and returns the body of a 200.
func (s *Server) get(ctx context.Context, path string, timeout time.Duration) ([]byte, error) {
	cfg := rest.CopyConfig(s.Config)
	cfg.Timeout = timeout
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// Memory reads the server process's memory.
func (s *Server) Memory() (Memory, error) {
	if s.Exited() {
		return Memory{}, fmt.Errorf("server exited: %v", s.proc.waitErr)
	}
	return ReadMemory(s.PID)
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool { return s.proc == nil || s.proc.Exited() }

// Logs summarises what the server logged at WARN and ERROR.
func (s *Server) Logs() LogSummary { return s.proc.Logs() }

// Stop ends the server cleanly: SIGTERM, then waits for it to exit (and
// kills it after the stop timeout). It reports an exit that was not
// clean. Close must still be called.
func (s *Server) Stop() error {
	err := s.proc.Stop(s.opts.StopTimeout)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("server exit: %v\nserver output (tail):\n%s", err, s.proc.Tail())
	}
	return err
}

// Close kills the server if it still runs and removes its data
// directory and any binary built for it. It is safe to call more than
// once and after Stop.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.proc != nil {
			s.proc.Kill()
		}
		os.RemoveAll(s.tempDir)
		s.binCleanup()
	})
}

// LogSummary counts a process's warning and error log lines.
type LogSummary struct {
	Warnings, Errors int
	// Samples are the first few warning and error lines.
	Samples []string
}

// logScanner keeps the tail of a process's output and its warnings and
// errors, notes its ready line, and copies the output on if asked.
type logScanner struct {
	pw        *io.PipeWriter
	done      chan struct{}
	readyLine string
	ready     chan struct{} // closed at the first line holding readyLine

	mu      sync.Mutex
	sum     LogSummary
	tail    []string
	forward io.Writer
	prefix  string // of the lines forwarded
}

const (
	maxSamples = 20
	maxTail    = 40
)

func newLogScanner(forward io.Writer, prefix, readyLine string) *logScanner {
	pr, pw := io.Pipe()
	l := &logScanner{pw: pw, done: make(chan struct{}), readyLine: readyLine, ready: make(chan struct{}), forward: forward, prefix: prefix}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			l.line(sc.Text())
		}
		// Drain a line too long for the scanner so the server never blocks.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return l
}

func (l *logScanner) Write(p []byte) (int, error) { return l.pw.Write(p) }

// Close ends the scanner after all written output has been read.
func (l *logScanner) Close() {
	l.pw.Close()
	<-l.done
}

func (l *logScanner) line(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.forward != nil {
		fmt.Fprintln(l.forward, l.prefix+text)
	}
	if strings.Contains(text, l.readyLine) {
		select {
		case <-l.ready:
		default:
			close(l.ready)
		}
	}
	isErr := strings.Contains(text, " ERROR ") || strings.Contains(text, "level=ERROR") || strings.HasPrefix(text, "panic:")
	isWarn := strings.Contains(text, " WARN ") || strings.Contains(text, "level=WARN")
	switch {
	case isErr:
		l.sum.Errors++
	case isWarn:
		l.sum.Warnings++
	}
	if (isErr || isWarn) && len(l.sum.Samples) < maxSamples {
		l.sum.Samples = append(l.sum.Samples, text)
	}
	l.tail = append(l.tail, text)
	if len(l.tail) > maxTail {
		l.tail = l.tail[1:]
	}
}

func (l *logScanner) Summary() LogSummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sum
	s.Samples = append([]string(nil), s.Samples...)
	return s
}

func (l *logScanner) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail, "\n")
}
