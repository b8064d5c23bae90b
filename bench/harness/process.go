package harness

import (
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// Process is a running kemudi command, such as `kemudi sim-nodes` or a
// standalone `kemudi scheduler` (Server runs `kemudi server` on one):
// its output is scanned for warnings, errors and the line that says it
// is ready.
type Process struct {
	Name string
	PID  int

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logs    *logScanner
}

// StartProcess runs `bin args...`; WaitReady waits for a line of its
// output containing readyLine. output, if set, receives each line
// prefixed with name. Callers Stop it.
func StartProcess(name, bin, readyLine string, output io.Writer, args ...string) (*Process, error) {
	p, err := startProcess(exec.Command(bin, args...), name, newLogScanner(output, name+": ", readyLine))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

// startProcess starts cmd with its output going to logs.
func startProcess(cmd *exec.Cmd, name string, logs *logScanner) (*Process, error) {
	cmd.Stdout, cmd.Stderr = logs, logs
	// Killed with us if we die before it is stopped; in its own process
	// group so a terminal's Ctrl-C reaches only us, and we stop it in
	// order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, err
	}
	p := &Process{Name: name, PID: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{}), logs: logs}
	go func() {
		p.waitErr = cmd.Wait()
		logs.Close()
		close(p.exited)
	}()
	return p, nil
}

// WaitReady waits for the ready line; it fails if the process exits or
// timeout passes first.
func (p *Process) WaitReady(timeout time.Duration) error {
	select {
	case <-p.logs.ready:
		return nil
	case <-p.exited:
		return fmt.Errorf("%s exited before ready: %v\n%s", p.Name, p.waitErr, p.Tail())
	case <-time.After(timeout):
		return fmt.Errorf("%s not ready after %s\n%s", p.Name, timeout, p.Tail())
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Logs summarises what the process logged at WARN and ERROR.
func (p *Process) Logs() LogSummary { return p.logs.Summary() }

// Tail is the last lines the process wrote.
func (p *Process) Tail() string { return p.logs.Tail() }

// Stop ends the process: SIGTERM, then SIGKILL if it has not exited
// after timeout. It reports an exit that was not clean: it had exited
// already, was killed, or exited with an error (returned as is).
func (p *Process) Stop(timeout time.Duration) error {
	if p.Exited() {
		return fmt.Errorf("%s had already exited: %v", p.Name, p.waitErr)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not exit %s after SIGTERM; killed", p.Name, timeout)
	}
}

// Kill ends the process, if it runs, and waits for it.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}
