package supervisor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ociRuntime drives an OCI runtime binary (runc, crun) through its command
// line: create, start, kill, update, exec, delete, state. Each container
// has a bundle (config.json, the runtime's log) under bundles; the
// binary's own state is under state (its --root).
//
// The binary does not stay: `create` forks the container's init and
// exits, `exec --detach` the same for an exec'd process, so both become
// orphans, reaped by the nearest child subreaper, the keeper, which
// reports their exits to the supervisor as it does for the inits of a
// supervisor that died (watchOrphan). Their stdio is the binary's own,
// passed through: the pipes the supervisor made, or a terminal whose
// master the binary sends on a console socket.
type ociRuntime struct {
	bin, state, bundles string
	// specVersion is the runtime-spec version the binary says it
	// implements (`--version`'s "spec:" line), written as config.json's
	// ociVersion: some refuse a newer one (crun 1.8 takes only 1.0.x),
	// and ignore the fields they do not know. "" keeps the spec's own.
	specVersion string
	watchOrphan func(pid int, onExit func(unix.WaitStatus, time.Time))
}

func newOCIRuntime(bin, state, bundles string, watchOrphan func(int, func(unix.WaitStatus, time.Time))) *ociRuntime {
	return &ociRuntime{bin: bin, state: state, bundles: bundles, specVersion: binarySpecVersion(bin), watchOrphan: watchOrphan}
}

// binarySpecVersion returns the runtime-spec version bin reports, "" if
// it says none.
func binarySpecVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "spec:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (r *ociRuntime) name() string { return r.bin }

func (r *ociRuntime) bundle(id string) string { return filepath.Join(r.bundles, id) }

func (r *ociRuntime) watchInit(pid int, onExit func(unix.WaitStatus, time.Time)) {
	r.watchOrphan(pid, onExit)
}

// logPath is the runtime's log for container id: JSON lines, in its
// bundle.
func (r *ociRuntime) logPath(id string) string {
	return filepath.Join(r.bundle(id), "runtime.log")
}

// command is the binary's command args for container id.
func (r *ociRuntime) command(id string, args ...string) *exec.Cmd {
	// The log's directory must exist, also for a container whose bundle
	// is gone (the binary fails otherwise).
	os.MkdirAll(r.bundle(id), 0o700)
	cmd := exec.Command(r.bin, append([]string{"--root", r.state, "--log", r.logPath(id), "--log-format", "json"}, args...)...)
	cmd.Dir = "/"
	return cmd
}

// run runs the binary's command args for container id, with io as its
// stdio (nil files: /dev/null). Its error says what the runtime logged.
func (r *ociRuntime) run(id string, io procIO, args ...string) error {
	logPath := r.logPath(id)
	var logStart int64
	if st, err := os.Stat(logPath); err == nil {
		logStart = st.Size()
	}
	cmd := r.command(id, args...)
	// A nil *os.File in an io.Reader is not nil: leave the field unset.
	if io.stdin != nil {
		cmd.Stdin = io.stdin
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if io.stdout != nil {
		cmd.Stdout = io.stdout
	}
	if io.stderr != nil {
		cmd.Stderr = io.stderr
	}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	msg := loggedError(logPath, logStart)
	if msg == "" {
		msg = strings.TrimSpace(stderr.String())
	}
	return fmt.Errorf("%s %s: %s (%w)", filepath.Base(r.bin), args[0], msg, err)
}

// loggedError returns the last error the runtime logged (JSON lines) in
// path after offset.
func loggedError(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	var last string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && (l.Level == "error" || l.Level == "fatal") {
			last = l.Msg
		}
	}
	return last
}

func (r *ociRuntime) create(id string, spec *specs.Spec, io procIO) (_ runtimeContainer, _ int, _ *os.File, retErr error) {
	dir := r.bundle(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, nil, fmt.Errorf("bundle: %w", err)
	}
	c := &ociContainer{r: r, id: id, spec: spec}
	defer func() {
		if retErr != nil {
			c.destroy()
		}
	}()
	// The terminal is the spec's to say to the binary.
	sp, proc := *spec, *spec.Process
	proc.Terminal = io.tty
	sp.Process = &proc
	if r.specVersion != "" {
		sp.Version = r.specVersion
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), &sp); err != nil {
		return nil, 0, nil, fmt.Errorf("bundle: %w", err)
	}
	pidFile := filepath.Join(dir, "init.pid")
	console, err := listenConsole(io.tty)
	if err != nil {
		return nil, 0, nil, err
	}
	defer console.Close()
	args := append([]string{"create", "--bundle", dir, "--pid-file", pidFile}, console.args()...)
	if err := r.run(id, io, append(args, id)...); err != nil {
		return nil, 0, nil, err
	}
	pid, err := readPidFile(pidFile)
	if err != nil {
		return nil, 0, nil, err
	}
	master, err := console.receive()
	if err != nil {
		return nil, 0, nil, err
	}
	return c, pid, master, nil
}

func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: %q is no pid", path, b)
	}
	return pid, nil
}

// load finds the container by its bundle's config.json.
func (r *ociRuntime) load(id string) (runtimeContainer, error) {
	b, err := os.ReadFile(filepath.Join(r.bundle(id), "config.json"))
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("container %s: config.json: %w", id, err)
	}
	return &ociContainer{r: r, id: id, spec: &spec}, nil
}

// ids lists the containers with a bundle or the binary's state.
func (r *ociRuntime) ids() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, dir := range []string{r.bundles, r.state} {
		names, err := dirNames(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

func (r *ociRuntime) forget(id string) error {
	return (&ociContainer{r: r, id: id}).destroy()
}
