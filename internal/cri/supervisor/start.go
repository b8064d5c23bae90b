package supervisor

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kemudi/kemudi/internal/embedexe"
)

// embedded holds bin/kemudi-supervisor when the Makefile built it before
// kemudi; otherwise only the committed placeholder.
//
//go:embed bin
var embedded embed.FS

const embeddedName = "bin/kemudi-supervisor"

// startTimeout bounds how long Connect waits for a supervisor it started.
const startTimeout = 30 * time.Second

func socketPath(root string) string { return filepath.Join(root, "supervisor.sock") }

// ensureRunning connects to the supervisor under opts.Root, starting its
// keeper (which starts the supervisor) when none answers. A supervisor
// already running keeps running and is used, whatever its version: an
// upgrade takes effect once the old one is gone (stopped by the admin or
// after a reboot), so that running containers are never handed over.
func ensureRunning(ctx context.Context, opts Options, log *slog.Logger) (*muxConn, error) {
	socket := socketPath(opts.Root)
	if m, err := dialPing(ctx, socket); err == nil {
		return sameRuntime(m, opts)
	}
	if err := os.MkdirAll(opts.Root, 0o700); err != nil {
		return nil, fmt.Errorf("supervisor root: %w", err)
	}
	// A keeper that runs is restarting its supervisor: wait for it.
	if !keeperRuns(opts.Root) {
		bin, err := resolveBinary(opts)
		if err != nil {
			return nil, err
		}
		if err := spawnKeeper(Config{Root: opts.Root, OCIRuntime: opts.OCIRuntime}, bin, log); err != nil {
			return nil, err
		}
	}
	m, err := awaitAnswer(ctx, opts.Root)
	if err != nil {
		return nil, err
	}
	return sameRuntime(m, opts)
}

// sameRuntime refuses a supervisor that creates containers with another
// runtime than opts asks for: its containers stay with it, so the choice
// can change only once it is shut down.
func sameRuntime(m *muxConn, opts Options) (*muxConn, error) {
	if m.runtime == opts.OCIRuntime {
		return m, nil
	}
	m.Close()
	name := func(r string) string {
		if r == "" {
			return "the built-in libcontainer"
		}
		return r
	}
	return nil, fmt.Errorf("supervisor: %w: the supervisor under %s creates containers with %s, not %s: remove its containers and shut it down first",
		ErrFailedPrecondition, opts.Root, name(m.runtime), name(opts.OCIRuntime))
}

// awaitAnswer waits up to startTimeout for the supervisor under root to
// answer a ping.
func awaitAnswer(ctx context.Context, root string) (*muxConn, error) {
	socket := socketPath(root)
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	delay := time.Millisecond
	for {
		m, err := dialPing(ctx, socket)
		if err == nil {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("supervisor did not answer on %s (see %s): %w", socket, logPath(root), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// keeperRuns reports whether a keeper holds the lock under root.
func keeperRuns(root string) bool {
	f, err := os.OpenFile(filepath.Join(root, "keeper.lock"), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

func logPath(root string) string { return filepath.Join(root, "supervisor.log") }

func dialPing(ctx context.Context, socket string) (*muxConn, error) {
	m, err := dialMux(ctx, socket)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var p pingResult
	if err := m.call(ctx, methodPing, struct{}{}, &p); err != nil {
		m.Close()
		return nil, err
	}
	m.runtime = p.Runtime
	return m, nil
}

// spawnKeeper starts `kemudi-supervisor keeper` in a session of its own,
// its output appended to the log under root. A second keeper started by a
// racing caller finds the first one's lock and exits.
func spawnKeeper(cfg Config, bin string, log *slog.Logger) error {
	root := cfg.Root
	lf, err := os.OpenFile(logPath(root), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("supervisor log: %w", err)
	}
	defer lf.Close()
	uncache(bin, log)
	cmd := exec.Command(bin, cfg.args("keeper")...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start supervisor %s: %w", bin, err)
	}
	log.Info("started supervisor keeper", "pid", cmd.Process.Pid, "binary", bin)
	// Reap it if it exits while we live (a racing duplicate does at once).
	go cmd.Wait()
	return nil
}

// uncache drops the page cache of bin (embedexe.Uncache), so that the
// keeper, the supervisor and the pause processes read it back a few
// pages at a time.
func uncache(bin string, log *slog.Logger) {
	if err := embedexe.Uncache(bin); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Debug("drop the supervisor binary's page cache", "err", err)
	}
}

// resolveBinary finds the kemudi-supervisor to run: Options.Binary, else
// the embedded one extracted under Root by content (so two kemudi versions
// never overwrite each other's), else the one next to this executable.
func resolveBinary(opts Options) (string, error) {
	if opts.Binary != "" {
		return opts.Binary, nil
	}
	data, err := fs.ReadFile(embedded, embeddedName)
	if err == nil && len(data) > 0 {
		return extract(opts.Root, data)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find kemudi-supervisor: %w", err)
	}
	p := filepath.Join(filepath.Dir(exe), "kemudi-supervisor")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no kemudi-supervisor embedded (build with make) nor at %s: %w", p, err)
	}
	return p, nil
}

func extract(root string, data []byte) (string, error) {
	return embedexe.Extract(filepath.Join(root, "bin"), "kemudi-supervisor", data)
}
