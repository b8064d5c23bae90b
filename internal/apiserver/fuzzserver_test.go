package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/admission"
	"github.com/kemudi/kemudi/internal/admission/builtin"
	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/registry/all"
	"github.com/kemudi/kemudi/internal/storage"
)

// The fuzz targets drive a real API server over HTTP: one per fuzz
// process (go test runs each target's seeds in one; -fuzz starts one per
// worker), on an embedded etcd in a throwaway directory, with a bearer
// token instead of TLS client certificates.

const (
	fuzzToken     = "fuzz-token"
	fuzzNamespace = "fuzz"
	acceptJSON    = "application/json"
	acceptTable   = "application/json;as=Table;v=v1;g=meta.k8s.io"
)

// fuzzServer is the server under fuzz and what it logged.
type fuzzServer struct {
	url    string
	client *http.Client
	logs   *errorLog
	// inflight counts requests the handler has not finished, so that a
	// check waits for a watch the client has already left.
	inflight sync.WaitGroup
}

func startFuzzServer(f *testing.F) *fuzzServer {
	f.Helper()
	dir := fastTempDir(f)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logs := &errorLog{}
	log := slog.New(logs)
	etcd, err := storage.StartEmbedded(ctx, dir, log)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(etcd.Close)
	// Remove the data before etcd stops: the fuzzer gives a worker a
	// second to exit before it kills it, and etcd may take longer.
	f.Cleanup(func() { os.RemoveAll(dir) })
	scheme := apiserver.NewScheme()
	store, err := storage.Open(ctx, etcd.Client(), scheme, log)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(store.Close)
	chain, err := admission.NewChain(builtin.New(store)...)
	if err != nil {
		f.Fatal(err)
	}
	api, err := apiserver.New(apiserver.Config{
		Store:     store,
		Scheme:    scheme,
		Admission: chain,
		Mutating:  chain,
		Resources: all.Resources(),
		Authenticator: apiserver.TokenAuthenticator(func(token string) (*apiserver.User, bool) {
			if token != fuzzToken {
				return nil, false
			}
			return &apiserver.User{Name: "fuzz", Groups: []string{"system:masters", "system:authenticated"}}, true
		}),
		ServiceCIDR: netip.MustParsePrefix("10.43.0.0/16"),
		NodePorts:   apiserver.PortRange{Base: 30000, Max: 32767},
		Log:         log,
	})
	if err != nil {
		f.Fatal(err)
	}
	var namespaces []runtime.Object
	for _, ns := range []string{"default", fuzzNamespace} {
		namespaces = append(namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	if err := api.EnsureObjects(ctx, namespaces...); err != nil {
		f.Fatal(err)
	}
	s := &fuzzServer{logs: logs}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Done()
		api.ServeHTTP(w, r)
	}))
	f.Cleanup(srv.Close)
	s.url, s.client = srv.URL, srv.Client()
	return s
}

// fastTempDir is a directory for etcd's data, in memory when the machine
// has /dev/shm (etcd syncs every write; the fuzzer makes many), removed
// when the fuzz target ends. A fuzz worker the fuzzer kills (an input
// that hangs) cannot clean up: its directory, named after its process,
// is removed by the next fuzz server that starts.
func fastTempDir(f *testing.F) string {
	const shm = "/dev/shm"
	if st, err := os.Stat(shm); err != nil || !st.IsDir() {
		return f.TempDir()
	}
	stale, _ := filepath.Glob(filepath.Join(shm, "kemudi-fuzz-*"))
	for _, d := range stale {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "kemudi-fuzz-%d-", &pid); err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
	dir, err := os.MkdirTemp(shm, fmt.Sprintf("kemudi-fuzz-%d-", os.Getpid()))
	if err != nil {
		return f.TempDir()
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// response is what the server answered.
type response struct {
	code int
	body []byte
}

func (r response) ok() bool { return r.code >= 200 && r.code < 300 }

// do sends one request with the fuzz token and reads the whole answer.
func (s *fuzzServer) do(t testing.TB, method, path, contentType, accept string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	s.header(req, contentType, accept)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{code: resp.StatusCode, body: data}
}

// watch opens a watch and returns its status line; a stream that opened
// (200) is closed at once, an error is read whole.
func (s *fuzzServer) watch(t testing.TB, path string) response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatalf("watch %s: %v", path, err)
	}
	s.header(req, "", acceptJSON)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("watch %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return response{code: resp.StatusCode}
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("watch %s: read body: %v", path, err)
	}
	return response{code: resp.StatusCode, body: data}
}

func (s *fuzzServer) header(req *http.Request, contentType, accept string) {
	req.Header.Set("Authorization", "Bearer "+fuzzToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
}

// settle waits until the server finished every request it was sent, then
// fails the input when the server logged an error meanwhile (a recovered
// panic, an internal error).
func (s *fuzzServer) settle(t testing.TB) {
	t.Helper()
	s.inflight.Wait()
	if errs := s.logs.take(); len(errs) > 0 {
		t.Fatalf("server logged errors:\n%s", strings.Join(errs, "\n"))
	}
}

// checkAnswer fails the input when the server answered 500 (a recovered
// panic or an unexpected internal error) or an error that is not a
// metav1.Status with the response's code and a message.
func checkAnswer(t testing.TB, what string, r response) {
	t.Helper()
	if r.ok() {
		return
	}
	var st metav1.Status
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatalf("%s: %d with a body that is not a Status: %v\n%q", what, r.code, err, r.body)
	}
	if r.code == http.StatusInternalServerError && !storageFailure(st.Message) {
		t.Fatalf("%s: 500: %s", what, st.Message)
	}
	if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure || int(st.Code) != r.code || st.Message == "" {
		t.Fatalf("%s: %d with a malformed Status: %s", what, r.code, r.body)
	}
	if st.Reason == metav1.StatusReasonInvalid {
		if st.Details == nil || len(st.Details.Causes) == 0 {
			t.Fatalf("%s: 422 without causes: %s", what, r.body)
		}
	}
}

// storageFailure tells the 500s upstream also answers: etcd refusing a
// write larger than its request limit.
func storageFailure(msg string) bool {
	return strings.Contains(msg, "etcdserver: request is too large")
}

// errorLog is a slog handler that keeps the server's error records.
type errorLog struct {
	mu     sync.Mutex
	errors []string
}

func (l *errorLog) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelError
}

func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.errors = append(l.errors, b.String())
	l.mu.Unlock()
	return nil
}

func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.errors
	l.errors = nil
	return out
}
