package simnodebench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// registeredLine is what `kemudi sim-nodes` logs once every node is
// registered.
const registeredLine = "nodes registered"

// simProcess is a running `kemudi sim-nodes`.
type simProcess struct {
	cmd        *exec.Cmd
	PID        int
	exited     chan struct{}
	waitErr    error
	registered chan struct{}

	mu            sync.Mutex
	warns, errs   int
	samples, tail []string
}

// startSim runs `kemudi sim-nodes --count n` against kubeconfig.
func startSim(bin, kubeconfig string, n int, extra ...string) (*simProcess, error) {
	args := append([]string{"sim-nodes", "--kubeconfig", kubeconfig, "--count", strconv.Itoa(n)}, extra...)
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s sim-nodes: %w", bin, err)
	}
	p := &simProcess{cmd: cmd, PID: cmd.Process.Pid, exited: make(chan struct{}), registered: make(chan struct{})}
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

func (p *simProcess) line(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if strings.Contains(text, registeredLine) {
		select {
		case <-p.registered:
		default:
			close(p.registered)
		}
	}
	isErr := strings.Contains(text, "level=ERROR") || strings.HasPrefix(text, "panic:")
	isWarn := strings.Contains(text, "level=WARN")
	if isErr {
		p.errs++
	} else if isWarn {
		p.warns++
	}
	if (isErr || isWarn) && len(p.samples) < 10 {
		p.samples = append(p.samples, text)
	}
	p.tail = append(p.tail, text)
	if len(p.tail) > 30 {
		p.tail = p.tail[1:]
	}
}

// waitRegistered waits for the registered line, the process's exit or
// the timeout.
func (p *simProcess) waitRegistered(timeout time.Duration) error {
	select {
	case <-p.registered:
		return nil
	case <-p.exited:
		return fmt.Errorf("sim-nodes exited before registering: %v\n%s", p.waitErr, p.Tail())
	case <-time.After(timeout):
		return fmt.Errorf("sim-nodes did not register in %s\n%s", timeout, p.Tail())
	}
}

// Tail is the last lines the process wrote.
func (p *simProcess) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// logs returns the warning and error counts and the first few such lines.
func (p *simProcess) logs() (warns, errs int, samples []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.warns, p.errs, append([]string(nil), p.samples...)
}

// stop sends SIGTERM, waits up to 30s, then kills; it reports an
// unclean exit.
func (p *simProcess) stop() error {
	select {
	case <-p.exited:
		return fmt.Errorf("sim-nodes had exited: %v", p.waitErr)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("sim-nodes did not exit 30s after SIGTERM; killed")
	}
}
