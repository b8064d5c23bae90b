package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxExecOutput bounds what ExecSync keeps of each stream (the kubelet's
// own bound for probe output is far smaller).
const maxExecOutput = 16 << 20

// ExecResult is what a command run by ExecSync did.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int32
}

type execParams struct {
	ID      string        `json:"id"`
	Cmd     []string      `json:"cmd"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

// ExecSync runs cmd in the running container (its namespaces, cgroup,
// user, environment, working directory and security settings) and returns
// its output and exit code. With a timeout, the command is killed when it
// runs longer, and the error wraps context.DeadlineExceeded.
func (c *Client) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (ExecResult, error) {
	var r ExecResult
	err := c.do(ctx, methodExecSync, execParams{ID: id, Cmd: cmd, Timeout: timeout}, &r)
	return r, err
}

func (s *server) execSync(ctx context.Context, p execParams) (ExecResult, error) {
	if len(p.Cmd) == 0 {
		return ExecResult{}, fmt.Errorf("%w: exec in container %s: empty command", ErrInvalidArgument, p.ID)
	}
	c, err := s.get(p.ID)
	if err != nil {
		return ExecResult{}, err
	}
	c.mu.Lock()
	lc, spec, status := c.lc, c.rec.Process, c.rec.State.Status
	c.mu.Unlock()
	if status != Running || lc == nil || spec == nil {
		return ExecResult{}, fmt.Errorf("exec in container %s: %w: it is %s", p.ID, ErrFailedPrecondition, status)
	}
	ps := *spec
	ps.Args = p.Cmd
	ps.Terminal = false
	proc, err := newProcess(&ps)
	if err != nil {
		return ExecResult{}, err
	}
	proc.Init = false
	outR, outW, err := pipe(true)
	if err != nil {
		return ExecResult{}, err
	}
	defer outR.Close()
	errR, errW, err := pipe(true)
	if err != nil {
		outW.Close()
		return ExecResult{}, err
	}
	defer errR.Close()
	proc.Stdout, proc.Stderr = outW, errW
	err = lc.Run(proc)
	outW.Close()
	errW.Close()
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec in container %s: %w", p.ID, err)
	}
	var stdout, stderr bytes.Buffer
	var wg sync.WaitGroup
	for _, x := range []struct {
		r *os.File
		b *bytes.Buffer
	}{{outR, &stdout}, {errR, &stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.Copy(x.b, io.LimitReader(x.r, maxExecOutput))
			io.Copy(io.Discard, x.r)
		}()
	}
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	waited := make(chan struct{})
	var ps2 *os.ProcessState
	var werr error
	go func() {
		ps2, werr = proc.Wait()
		close(waited)
	}()
	timedOut := false
	select {
	case <-waited:
	case <-ctx.Done():
		timedOut = true
		proc.Signal(unix.SIGKILL)
		<-waited
	}
	// A background child may hold the pipes open: do not wait for it long.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		outR.SetReadDeadline(time.Now())
		errR.SetReadDeadline(time.Now())
		<-done
	}
	if timedOut {
		return ExecResult{}, fmt.Errorf("exec in container %s: %w: command ran longer than %v", p.ID, context.DeadlineExceeded, p.Timeout)
	}
	if ps2 == nil {
		return ExecResult{}, fmt.Errorf("exec in container %s: wait: %w", p.ID, werr)
	}
	code := int32(ps2.ExitCode())
	if ws, ok := ps2.Sys().(syscall.WaitStatus); ok {
		code = exitCode(unix.WaitStatus(ws))
	}
	return ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: code}, nil
}
