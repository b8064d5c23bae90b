package supervisor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
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
	rc, ps, err := s.execTarget(p.ID, p.Cmd, false)
	if err != nil {
		return ExecResult{}, err
	}
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
	proc, _, err := rc.exec(ps, procIO{stdout: outW, stderr: errW})
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
	var ws unix.WaitStatus
	var werr error
	go func() {
		ws, werr = proc.wait()
		close(waited)
	}()
	timedOut := false
	select {
	case <-waited:
	case <-ctx.Done():
		timedOut = true
		proc.kill()
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
	if werr != nil {
		return ExecResult{}, fmt.Errorf("exec in container %s: wait: %w", p.ID, werr)
	}
	return ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: exitCode(ws)}, nil
}
