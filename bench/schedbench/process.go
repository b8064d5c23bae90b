package schedbench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a running kemudi command other than the server: the
// simulated nodes or a standalone scheduler.
type process struct {
	name    string
	cmd     *exec.Cmd
	PID     int
	exited  chan struct{}
	waitErr error
	ready   chan struct{}

	mu          sync.Mutex
	readyLine   string
	warns, errs int
	samples     []string
	tail        []string
	out         io.Writer
}

// start runs `bin args...` and closes ready when a line containing
// readyLine appears in its output.
func start(name, bin, readyLine string, out io.Writer, args ...string) (*process, error) {
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, PID: cmd.Process.Pid, exited: make(chan struct{}), ready: make(chan struct{}), readyLine: readyLine, out: out}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.line(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		pw.Close()
		<-scanned
		close(p.exited)
	}()
	return p, nil
}

func (p *process) line(l string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out != nil {
		fmt.Fprintf(p.out, "%s: %s\n", p.name, l)
	}
	if p.readyLine != "" && strings.Contains(l, p.readyLine) {
		p.readyLine = ""
		close(p.ready)
	}
	switch {
	case strings.Contains(l, "level=ERROR"):
		p.errs++
	case strings.Contains(l, "level=WARN"):
		p.warns++
	default:
		p.tail = append(p.tail, l)
		if len(p.tail) > 20 {
			p.tail = p.tail[1:]
		}
		return
	}
	if len(p.samples) < 5 {
		p.samples = append(p.samples, l)
	}
}

// waitReady waits for the ready line, the process's exit or timeout.
func (p *process) waitReady(timeout time.Duration) error {
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return fmt.Errorf("%s exited: %v\n%s", p.name, p.waitErr, p.tailText())
	case <-time.After(timeout):
		return fmt.Errorf("%s not ready after %s\n%s", p.name, timeout, p.tailText())
	}
}

func (p *process) tailText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// summary is the process's warnings and errors.
func (p *process) summary() (warns, errs int, samples []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.warns, p.errs, append([]string(nil), p.samples...)
}

// stop sends SIGTERM, then SIGKILL after timeout.
func (p *process) stop(timeout time.Duration) error {
	select {
	case <-p.exited:
		return p.waitErr
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop in %s; killed", p.name, timeout)
	}
}
