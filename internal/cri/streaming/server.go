package streaming

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TerminalSize is a terminal's width and height in characters.
type TerminalSize struct{ Width, Height uint16 }

// Streams are a stream's stdio as the client asked for them: a nil field
// was not asked for.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
	Resize         <-chan TerminalSize // nil without TTY; closed when the client is gone
}

// Runtime runs what the streams are connected to.
type Runtime interface {
	// Exec runs cmd in the container and returns its exit code once it
	// ended and its output was copied.
	Exec(ctx context.Context, containerID string, cmd []string, s Streams) (int32, error)
	// Attach connects to the container's stdio until the container ends or
	// the client goes (ctx done).
	Attach(ctx context.Context, containerID string, s Streams) error
	// PortForward connects conn to port inside the sandbox's network
	// namespace, and returns once both directions ended.
	PortForward(ctx context.Context, podSandboxID string, port int32, conn io.ReadWriteCloser) error
}

// Options configure the server.
type Options struct {
	// Addr is the TCP address to listen on; default 127.0.0.1:0 (a free
	// port on loopback).
	Addr string
	// TokenTTL is how long a URL stays valid unused; default one minute.
	TokenTTL time.Duration
	// IdleTimeout ends a stream no byte crossed for this long; default 4h.
	IdleTimeout time.Duration
	Log         *slog.Logger
}

// Server is the streaming server.
type Server struct {
	opts Options
	rt   Runtime
	log  *slog.Logger
	l    net.Listener
	hs   *http.Server
	base string

	mu      sync.Mutex
	pending map[string]pendingRequest
}

type pendingRequest struct {
	req     any // *runtimeapi.ExecRequest, AttachRequest or PortForwardRequest
	expires time.Time
}

// New listens on opts.Addr; Serve serves.
func New(opts Options, rt Runtime) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Minute
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 4 * time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("streaming server: listen %s: %w", opts.Addr, err)
	}
	s := &Server{opts: opts, rt: rt, log: opts.Log.With("component", "streaming"), l: l,
		base: "http://" + l.Addr().String(), pending: map[string]pendingRequest{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /exec/{token}", s.serveExec)
	mux.HandleFunc("POST /exec/{token}", s.serveExec)
	mux.HandleFunc("GET /attach/{token}", s.serveAttach)
	mux.HandleFunc("POST /attach/{token}", s.serveAttach)
	mux.HandleFunc("GET /portforward/{token}", s.servePortForward)
	mux.HandleFunc("POST /portforward/{token}", s.servePortForward)
	s.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.l.Addr().String() }

// Serve serves until ctx is done or Close.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.hs.Close() })
	defer stop()
	if err := s.hs.Serve(s.l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("streaming server: %w", err)
	}
	return nil
}

// Close stops the server and ends its streams.
func (s *Server) Close() error { return s.hs.Close() }

// GetExec stores req and returns the URL that runs it.
func (s *Server) GetExec(req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if req.Tty {
		req.Stderr = false // a terminal carries both
	}
	t, err := s.store(req)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ExecResponse{Url: s.base + "/exec/" + t}, nil
}

// GetAttach stores req and returns the URL that runs it.
func (s *Server) GetAttach(req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if req.Tty {
		req.Stderr = false
	}
	t, err := s.store(req)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.AttachResponse{Url: s.base + "/attach/" + t}, nil
}

// GetPortForward stores req and returns the URL that runs it.
func (s *Server) GetPortForward(req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	t, err := s.store(req)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.PortForwardResponse{Url: s.base + "/portforward/" + t}, nil
}

func (s *Server) store(req any) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("streaming token: %w", err)
	}
	t := base64.RawURLEncoding.EncodeToString(b)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, k)
		}
	}
	s.pending[t] = pendingRequest{req: req, expires: now.Add(s.opts.TokenTTL)}
	return t, nil
}

// take returns the request stored under the URL's token, once.
func (s *Server) take(r *http.Request) (any, bool) {
	t := r.PathValue("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[t]
	delete(s.pending, t)
	if !ok || time.Now().After(p.expires) {
		return nil, false
	}
	return p.req, true
}

func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	v, ok := s.take(r)
	req, isExec := v.(*runtimeapi.ExecRequest)
	if !ok || !isExec {
		http.Error(w, "unknown or expired exec token", http.StatusNotFound)
		return
	}
	o := streamOpts{stdin: req.Stdin, stdout: req.Stdout, stderr: req.Stderr, tty: req.Tty}
	s.serveRemoteCommand(w, r, o, func(ctx context.Context, st Streams) (int32, error) {
		return s.rt.Exec(ctx, req.ContainerId, req.Cmd, st)
	})
}

func (s *Server) serveAttach(w http.ResponseWriter, r *http.Request) {
	v, ok := s.take(r)
	req, isAttach := v.(*runtimeapi.AttachRequest)
	if !ok || !isAttach {
		http.Error(w, "unknown or expired attach token", http.StatusNotFound)
		return
	}
	o := streamOpts{stdin: req.Stdin, stdout: req.Stdout, stderr: req.Stderr, tty: req.Tty}
	s.serveRemoteCommand(w, r, o, func(ctx context.Context, st Streams) (int32, error) {
		return 0, s.rt.Attach(ctx, req.ContainerId, st)
	})
}

func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	v, ok := s.take(r)
	req, isPF := v.(*runtimeapi.PortForwardRequest)
	if !ok || !isPF {
		http.Error(w, "unknown or expired port-forward token", http.StatusNotFound)
		return
	}
	s.servePortForwardSPDY(w, r, req)
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
