// Package clustertest starts kemudi control planes for tests: in-process,
// on a throwaway data directory (embedded etcd included) and a free port,
// with a client-go client and the real kubectl (the kemudi binary) to
// drive them as a user would.
package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kemudi/kemudi/internal/apiclient"
	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/controller/manager"
	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
	"github.com/kemudi/kemudi/internal/dns/dnsexe/dnsexetest"
)

// Server is a running control plane under test.
type Server struct {
	*cluster.Server
	DataDir string
	Config  *rest.Config
	Client  kubernetes.Interface

	t    testing.TB
	opts cluster.ServerOptions
}

// Start starts a server that is stopped when the test ends. modify may
// adjust its options.
func Start(t testing.TB, modify ...func(*cluster.ServerOptions)) *Server {
	t.Helper()
	opts := cluster.DefaultServerOptions()
	opts.DataDir = t.TempDir()
	opts.BindAddress = "127.0.0.1"
	opts.Port = 0
	// No default StorageClass unless a test asks for it
	// (o.LocalStorage = true): claims keep the class they are given.
	opts.LocalStorage = false
	logs := &testWriter{t: t}
	opts.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, m := range modify {
		m(&opts)
	}
	s := &Server{DataDir: opts.DataDir, t: t, opts: opts}
	s.start()
	t.Cleanup(func() {
		s.stop()
		logs.close()
	})
	return s
}

func (s *Server) start() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := cluster.StartServer(ctx, s.opts)
	if err != nil {
		s.t.Fatalf("start server: %v", err)
	}
	s.Server = srv
	cfg, err := clientcmd.BuildConfigFromFlags("", srv.Kubeconfig)
	if err != nil {
		s.t.Fatalf("kubeconfig: %v", err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	s.Config = cfg
	s.Client = kubernetes.NewForConfigOrDie(cfg)
}

func (s *Server) stop() {
	if s.Server != nil {
		if err := s.Server.Stop(); err != nil {
			s.t.Logf("stop server: %v", err)
		}
		s.Server = nil
	}
}

// Restart stops the server and starts it again on the same data
// directory and port.
func (s *Server) Restart() {
	s.t.Helper()
	port := portOf(s.URL)
	s.stop()
	s.opts.Port = port
	s.start()
}

// ProtobufConfig returns a client config that speaks protobuf.
func (s *Server) ProtobufConfig() *rest.Config {
	return apiclient.Protobuf(s.Config)
}

// Kubectl runs `kemudi kubectl args...` against the server and returns
// its standard output; err carries standard error.
func (s *Server) Kubectl(args ...string) (string, error) {
	return s.KubectlStdin(nil, args...)
}

// KubectlStdin is Kubectl with stdin.
func (s *Server) KubectlStdin(stdin io.Reader, args ...string) (string, error) {
	s.t.Helper()
	cmd := exec.Command(Binary(s.t), append([]string{"kubectl", "--kubeconfig", s.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+s.DataDir)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), &KubectlError{Err: err, Stderr: stderr.String()}
	}
	return stdout.String(), nil
}

// MustKubectl runs kubectl and fails the test when it fails.
func (s *Server) MustKubectl(args ...string) string {
	s.t.Helper()
	out, err := s.Kubectl(args...)
	if err != nil {
		s.t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// KubectlError is a failed kubectl run.
type KubectlError struct {
	Err    error
	Stderr string
}

func (e *KubectlError) Error() string { return e.Err.Error() + ": " + strings.TrimSpace(e.Stderr) }

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// Binary returns the kemudi binary: $KEMUDI_BIN (set by make test), or
// one built once for this test process.
func Binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("KEMUDI_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		removeStaleBinaries()
		dir, err := os.MkdirTemp("", fmt.Sprintf("kemudi-bin-%d-", os.Getpid()))
		if err != nil {
			buildErr = err
			return
		}
		// The current supervisor and DNS server embedded, as the Makefile
		// builds kemudi; -trimpath shares build cache keys between
		// checkouts.
		if err := supervisortest.EmbedCurrent(); err != nil {
			buildErr = err
			return
		}
		if err := dnsexetest.EmbedCurrent(); err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "kemudi")
		cmd := exec.Command("go", "build", "-trimpath", "-o", built, "./cmd/kemudi")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &KubectlError{Err: err, Stderr: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build kemudi: %v", buildErr)
	}
	return built
}

// removeStaleBinaries removes the binaries built by test processes that
// have ended: each process's build (224 MB) outlives it, since no test
// owns it, and a day of test runs filled /tmp with dozens. The directory
// names the process that built it; older names without one go too.
func removeStaleBinaries() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "kemudi-bin-*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), "kemudi-bin-")
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err == nil && strings.Contains(rest, "-") && syscall.Kill(pid, 0) == nil {
			continue // its process still runs
		}
		os.RemoveAll(d)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func portOf(url string) int {
	i := strings.LastIndex(url, ":")
	n := 0
	for _, c := range url[i+1:] {
		n = n*10 + int(c-'0')
	}
	return n
}

// testWriter sends the server's warnings and errors to the test log,
// until the test ends.
type testWriter struct {
	t      testing.TB
	mu     sync.Mutex
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// RunControlPlane runs the named control-plane components (all when none
// is named) against the server until the test ends.
func (s *Server) RunControlPlane(names ...string) {
	s.t.Helper()
	comps := cluster.ControlPlane()
	if len(names) > 0 {
		want := map[string]bool{}
		for _, n := range names {
			want[n] = true
		}
		var picked []cluster.Component
		for _, c := range comps {
			if want[c.Name] {
				picked = append(picked, c)
			}
		}
		comps = picked
	}
	s.runComponents(comps)
}

// RunControllerManager runs the controller manager with its options
// changed by modify (shorter node monitor periods, a choice of
// controllers) until the test ends.
func (s *Server) RunControllerManager(modify func(*manager.Options)) {
	s.t.Helper()
	s.runComponents([]cluster.Component{{
		Name: "controller-manager", User: "system:kube-controller-manager",
		Run: func(ctx context.Context, cfg *rest.Config, log *slog.Logger) error {
			opts := manager.DefaultOptions()
			opts.Log = log
			modify(&opts)
			return manager.Run(ctx, cfg, opts)
		},
	}})
}

func (s *Server) runComponents(comps []cluster.Component) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := s.Server.RunComponents(ctx, comps, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		s.t.Fatalf("run control plane: %v", err)
	}
	s.t.Cleanup(func() {
		cancel()
		wait()
	})
}

// WaitReady waits until the server's /readyz answers ok, as a user's
// readiness probe would: its start-up steps (the built-in APIServices
// registered, system objects made) finish a moment after it serves.
func (s *Server) WaitReady() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := s.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		if err == nil && string(body) == "ok" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("/readyz not ok after 30s: %v %s", err, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
