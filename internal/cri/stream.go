package cri

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/streaming"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// streamSupervisor is what the streaming verbs need of the supervisor.
type streamSupervisor interface {
	ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (supervisor.ExecResult, error)
	Exec(ctx context.Context, id string, o supervisor.ExecOptions) (*supervisor.Stream, error)
	Attach(ctx context.Context, id string, o supervisor.AttachOptions) (*supervisor.Stream, error)
}

func (r *Runtime) streamer() (streamSupervisor, error) {
	s, ok := r.supervisor.(streamSupervisor)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this runtime's supervisor cannot exec or attach")
	}
	return s, nil
}

// runningContainer returns the container's record if it is running.
func (r *Runtime) runningContainer(id string) (container, error) {
	if id == "" {
		return container{}, &invalidArgumentError{Field: "container_id", Msg: "is empty"}
	}
	c, err := r.containers.get(id)
	if err != nil {
		return container{}, err
	}
	if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return container{}, failedPrecondition("container %s is not running (it is %s)", c.ID, c.State)
	}
	return c, nil
}

// ExecSync runs a command in a running container and returns its output.
func (r *Runtime) ExecSync(ctx context.Context, req *runtimeapi.ExecSyncRequest) (*runtimeapi.ExecSyncResponse, error) {
	if len(req.GetCmd()) == 0 {
		return nil, grpcError(&invalidArgumentError{Field: "cmd", Msg: "is empty"})
	}
	c, err := r.runningContainer(req.GetContainerId())
	if err != nil {
		return nil, grpcError(err)
	}
	s, err := r.streamer()
	if err != nil {
		return nil, err
	}
	res, err := s.ExecSync(ctx, c.ID, req.GetCmd(), time.Duration(req.GetTimeout())*time.Second)
	if err != nil {
		return nil, grpcError(fmt.Errorf("exec in container %s: %w", c.ID, err))
	}
	return &runtimeapi.ExecSyncResponse{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}, nil
}

// Exec returns the streaming URL that runs the command.
func (r *Runtime) Exec(ctx context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	if len(req.GetCmd()) == 0 {
		return nil, grpcError(&invalidArgumentError{Field: "cmd", Msg: "is empty"})
	}
	if !req.GetStdin() && !req.GetStdout() && !req.GetStderr() {
		return nil, grpcError(&invalidArgumentError{Field: "stdin, stdout, stderr", Msg: "one must be set"})
	}
	c, err := r.runningContainer(req.GetContainerId())
	if err != nil {
		return nil, grpcError(err)
	}
	if r.streaming == nil {
		return nil, status.Error(codes.Unavailable, "the streaming server is not running")
	}
	req.ContainerId = c.ID
	return r.streaming.GetExec(req)
}

// Attach returns the streaming URL that attaches to the container.
func (r *Runtime) Attach(ctx context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	if !req.GetStdin() && !req.GetStdout() && !req.GetStderr() {
		return nil, grpcError(&invalidArgumentError{Field: "stdin, stdout, stderr", Msg: "one must be set"})
	}
	c, err := r.runningContainer(req.GetContainerId())
	if err != nil {
		return nil, grpcError(err)
	}
	if r.streaming == nil {
		return nil, status.Error(codes.Unavailable, "the streaming server is not running")
	}
	req.ContainerId = c.ID
	return r.streaming.GetAttach(req)
}

// PortForward returns the streaming URL that forwards to the sandbox.
func (r *Runtime) PortForward(ctx context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	if req.GetPodSandboxId() == "" {
		return nil, grpcError(&invalidArgumentError{Field: "pod_sandbox_id", Msg: "is empty"})
	}
	sb, err := r.sandboxes.get(req.GetPodSandboxId())
	if err != nil {
		return nil, grpcError(err)
	}
	if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
		return nil, grpcError(failedPrecondition("sandbox %s is not ready", sb.ID))
	}
	if r.streaming == nil {
		return nil, status.Error(codes.Unavailable, "the streaming server is not running")
	}
	req.PodSandboxId = sb.ID
	return r.streaming.GetPortForward(req)
}

// streamRuntime is what the streaming server runs streams against.
type streamRuntime struct{ r *Runtime }

func (sr streamRuntime) Exec(ctx context.Context, id string, cmd []string, st streaming.Streams) (int32, error) {
	s, err := sr.r.streamer()
	if err != nil {
		return 0, err
	}
	ps, err := s.Exec(ctx, id, supervisor.ExecOptions{Cmd: cmd, Stdin: st.Stdin != nil, TTY: st.TTY})
	if err != nil {
		return 0, err
	}
	defer ps.Close()
	return pump(ctx, ps, st, true)
}

func (sr streamRuntime) Attach(ctx context.Context, id string, st streaming.Streams) error {
	s, err := sr.r.streamer()
	if err != nil {
		return err
	}
	ps, err := s.Attach(ctx, id, supervisor.AttachOptions{Stdin: st.Stdin != nil})
	if err != nil {
		return err
	}
	defer ps.Close()
	_, err = pump(ctx, ps, st, false)
	return err
}

// pump copies between the client's streams and the supervisor's until
// the process ends (exec) or the container's output ends or the client
// goes (attach).
func pump(ctx context.Context, ps *supervisor.Stream, st streaming.Streams, exec bool) (int32, error) {
	if st.Resize != nil {
		go func() {
			for sz := range st.Resize {
				ps.Resize(sz.Width, sz.Height)
			}
		}()
	}
	if st.Stdin != nil && ps.Stdin != nil {
		go func() {
			io.Copy(ps.Stdin, st.Stdin)
			ps.Stdin.Close()
		}()
	}
	outDone := make(chan struct{}, 2)
	// A write that fails means the client is gone (a WebSocket has no
	// other sign of it): the exec'd process is then killed, an attachment
	// ended.
	clientGone := make(chan struct{})
	var goneOnce sync.Once
	outputs := 0
	for _, p := range []struct {
		w io.Writer
		r io.Reader
	}{{st.Stdout, ps.Stdout}, {st.Stderr, ps.Stderr}} {
		if p.r == nil || isNilReader(p.r) {
			continue
		}
		outputs++
		w := p.w
		if w == nil {
			w = io.Discard
		}
		go func() {
			if errors.Is(copyOutput(w, p.r), errClientWrite) {
				goneOnce.Do(func() { close(clientGone) })
			}
			outDone <- struct{}{}
		}()
	}
	waitOutput := func(limit time.Duration) {
		deadline := time.After(limit)
		for range outputs {
			select {
			case <-outDone:
			case <-deadline:
				return
			}
		}
	}
	if !exec {
		// An attachment ends when the container's output ends, or when the client goes.
		done := make(chan struct{})
		go func() { waitOutput(365 * 24 * time.Hour); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
		case <-clientGone:
		}
		return 0, nil
	}
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-clientGone:
			cancel()
		case <-waitCtx.Done():
		}
	}()
	code, err := ps.Wait(waitCtx)
	if err != nil {
		return 0, err
	}
	// A background child may keep the pipes open: its output is not waited for long.
	waitOutput(2 * time.Second)
	return code, nil
}

func isNilReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && f == nil
}

// errClientWrite: the client's side of a stream took no more output.
var errClientWrite = errors.New("client stream closed")

// copyOutput copies until the end of r (EOF; a terminal's master reads
// EIO once the process is gone, which is its end too) and returns
// errClientWrite if a write failed first.
func copyOutput(w io.Writer, r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return errClientWrite
			}
		}
		if rerr != nil {
			return nil
		}
	}
}

func (sr streamRuntime) PortForward(ctx context.Context, sandboxID string, port int32, conn io.ReadWriteCloser) error {
	sb, err := sr.r.sandboxes.get(sandboxID)
	if err != nil {
		return err
	}
	c, err := dialInNetNS(ctx, sb.NetNS, fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	defer c.Close()
	done := make(chan struct{}, 2)
	go func() {
		copyForward(c, conn)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		copyForward(conn, c)
		conn.Close() // half-close: the client sees EOF
		done <- struct{}{}
	}()
	for range 2 {
		select {
		case <-done:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// forwardBuffer is what one read of a forwarded connection takes: a
// pod that sends fast fills a frame of this size (SPDY's limit is 16
// MiB), four times fewer than io.Copy's 32 KiB would make, and every
// frame costs each hop after (the client's decoder above all).
const forwardBuffer = 128 << 10

// copyForward copies src to dst through a forwardBuffer; a TCP
// connection's own WriteTo would copy through 32 KiB.
func copyForward(dst io.Writer, src io.Reader) {
	_, _ = io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, forwardBuffer))
}

// dialInNetNS connects to addr from inside the network namespace at path
// ("" = the host's): the socket is made on a thread switched into it, and
// stays in it. The thread is not switched back: it ends with its
// goroutine (LockOSThread without Unlock), so no other goroutine runs in
// the wrong namespace.
func dialInNetNS(ctx context.Context, path, addr string) (net.Conn, error) {
	var d net.Dialer
	if path == "" {
		return d.DialContext(ctx, "tcp", addr)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			ch <- result{err: fmt.Errorf("open network namespace %s: %w", path, err)}
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			ch <- result{err: fmt.Errorf("enter network namespace %s: %w", path, err)}
			return
		}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			err = fmt.Errorf("dial %s in the pod's network: %w", addr, err)
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// startStreaming starts the streaming server on opts.StreamAddress.
func (r *Runtime) startStreaming() error {
	srv, err := streaming.New(streaming.Options{Addr: r.opts.StreamAddress, Log: r.opts.Log}, streamRuntime{r})
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	r.streaming = srv
	go func() {
		if err := srv.Serve(context.Background()); err != nil {
			r.log.Error("streaming server stopped", "err", err)
		}
	}()
	r.log.Info("streaming server", "addr", srv.Addr())
	return nil
}

// StreamAddress is the address the streaming server listens on.
func (r *Runtime) StreamAddress() string {
	if r.streaming == nil {
		return ""
	}
	return r.streaming.Addr()
}
