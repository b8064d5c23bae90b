package supervisor

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

// collector reads r in the background; wait checks what came so far.
type collector struct {
	mu   sync.Mutex
	b    bytes.Buffer
	done chan struct{}
}

func collect(r io.Reader) *collector {
	c := &collector{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			c.mu.Lock()
			c.b.Write(buf[:n])
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return c
}

func (c *collector) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

func (c *collector) waitFor(t *testing.T, want string) {
	t.Helper()
	waitFor(t, 10*time.Second, "output "+quote(want), func() (bool, error) {
		return strings.Contains(c.String(), want), nil
	})
}

// all waits for EOF and returns everything read.
func (c *collector) all(t *testing.T) string {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("no EOF; got %q", c.String())
	}
	return c.String()
}

func quote(s string) string { return "\"" + s + "\"" }

func TestExecStream(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		f.run("c", "sleep", "1000")
		for _, tc := range []struct {
			name     string
			opts     ExecOptions
			input    string
			resize   [2]uint16 // width, height after start
			wantOut  []string  // substrings of stdout
			wantErr  string    // stderr, exactly (without TTY)
			wantCode int32
		}{
			{name: "stdin to stdout", opts: ExecOptions{Cmd: []string{"cat"}, Stdin: true}, input: "hello\n", wantOut: []string{"hello\n"}},
			{name: "stderr and exit code", opts: ExecOptions{Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 7"}}, wantOut: []string{"out\n"}, wantErr: "err\n", wantCode: 7},
			{name: "killed by a signal", opts: ExecOptions{Cmd: []string{"sh", "-c", "kill -9 $$"}}, wantCode: 137},
			{name: "tty with size", opts: ExecOptions{Cmd: []string{"sh", "-c", "stty size; tty"}, TTY: true, Width: 80, Height: 24}, wantOut: []string{"24 80", "/dev/pts/"}},
			{name: "tty resized", opts: ExecOptions{Cmd: []string{"sh", "-c", "read x; stty size"}, TTY: true, Stdin: true, Width: 80, Height: 24}, resize: [2]uint16{100, 30}, input: "go\n", wantOut: []string{"30 100"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s, err := f.c.Exec(ctx(t), "c", tc.opts)
				if err != nil {
					t.Fatalf("Exec: %v", err)
				}
				defer s.Close()
				out := collect(s.Stdout)
				var errOut *collector
				if s.Stderr != nil {
					errOut = collect(s.Stderr)
				}
				if tc.resize[0] != 0 {
					if err := s.Resize(tc.resize[0], tc.resize[1]); err != nil {
						t.Fatalf("Resize: %v", err)
					}
				}
				if tc.input != "" {
					if _, err := io.WriteString(s.Stdin, tc.input); err != nil {
						t.Fatalf("write stdin: %v", err)
					}
					s.Stdin.Close()
				}
				code, err := s.Wait(ctx(t))
				if err != nil {
					t.Fatalf("Wait: %v", err)
				}
				if code != tc.wantCode {
					t.Errorf("exit code %d, want %d", code, tc.wantCode)
				}
				got := out.all(t)
				for _, w := range tc.wantOut {
					if !strings.Contains(got, w) {
						t.Errorf("stdout %q lacks %q", got, w)
					}
				}
				if errOut != nil {
					if got := errOut.all(t); got != tc.wantErr {
						t.Errorf("stderr %q, want %q", got, tc.wantErr)
					}
				}
			})
		}
		t.Run("close kills", func(t *testing.T) {
			s, err := f.c.Exec(ctx(t), "c", ExecOptions{Cmd: []string{"sleep", "999"}})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			s.Close()
			waitFor(t, 10*time.Second, "sleep 999 gone", func() (bool, error) {
				r, err := f.c.ExecSync(ctx(t), "c", []string{"ps", "-o", "args"}, 0)
				return err == nil && !strings.Contains(string(r.Stdout), "sleep 999"), err
			})
		})
		t.Run("errors", func(t *testing.T) {
			for _, tc := range []struct {
				id   string
				cmd  []string
				want error
			}{{"nope", []string{"true"}, ErrNotFound}, {"c", nil, ErrInvalidArgument}} {
				if _, err := f.c.Exec(ctx(t), tc.id, ExecOptions{Cmd: tc.cmd}); !errors.Is(err, tc.want) {
					t.Errorf("Exec %s %v: %v, want %v", tc.id, tc.cmd, err, tc.want)
				}
			}
		})
	})
}

func TestAttach(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		spec := supervisortest.Spec(f.rootfs, f.cgroup("echo"), "sh", "-c", `while read l; do echo "got $l"; echo "err $l" >&2; done; echo bye`)
		f.runSpec(ContainerSpec{ID: "echo", LogPath: f.logPath("echo"), Stdin: true, Spec: spec})

		a, err := f.c.Attach(ctx(t), "echo", AttachOptions{Stdin: true})
		if err != nil {
			t.Fatalf("Attach: %v", err)
		}
		out, errOut := collect(a.Stdout), collect(a.Stderr)
		io.WriteString(a.Stdin, "one\n")
		out.waitFor(t, "got one\n")
		errOut.waitFor(t, "err one\n")
		// A second attacher sees the output too; the first detaches.
		b, err := f.c.Attach(ctx(t), "echo", AttachOptions{Stdin: true})
		if err != nil {
			t.Fatalf("second Attach: %v", err)
		}
		out2 := collect(b.Stdout)
		a.Close()
		io.WriteString(b.Stdin, "two\n")
		out2.waitFor(t, "got two\n")
		// The log kept everything.
		waitFor(t, 10*time.Second, "log", func() (bool, error) {
			l := strings.Join(logEntries(t, f.logPath("echo")), "\n")
			return strings.Contains(l, "got one") && strings.Contains(l, "got two"), nil
		})
		// Closing the container's stdin (here: its own exit) ends the stream.
		f.c.Signal(ctx(t), "echo", 9)
		if _, err := b.Wait(ctx(t)); err != nil {
			t.Errorf("Wait: %v", err)
		}
		out2.all(t)
		b.Close()
		// The stream ends with the output, a moment before the exit is recorded.
		waitFor(t, 10*time.Second, "echo exited", func() (bool, error) {
			st, err := f.c.State(ctx(t), "echo")
			return err == nil && st.Status == Exited, err
		})
		if _, err := f.c.Attach(ctx(t), "echo", AttachOptions{}); !errors.Is(err, ErrFailedPrecondition) {
			t.Errorf("attach to exited: %v", err)
		}

		t.Run("tty", func(t *testing.T) {
			spec := supervisortest.Spec(f.rootfs, f.cgroup("tty"), "sh")
			spec.Process.Terminal = true
			f.runSpec(ContainerSpec{ID: "tty", LogPath: f.logPath("tty"), Stdin: true, TTY: true, Spec: spec})
			a, err := f.c.Attach(ctx(t), "tty", AttachOptions{Stdin: true})
			if err != nil {
				t.Fatalf("Attach: %v", err)
			}
			defer a.Close()
			if a.Stderr != nil {
				t.Errorf("a TTY attachment has a stderr")
			}
			out := collect(a.Stdout)
			if err := a.Resize(50, 20); err != nil {
				t.Fatalf("Resize: %v", err)
			}
			io.WriteString(a.Stdin, "stty size; echo $((6*7))\n")
			out.waitFor(t, "20 50")
			out.waitFor(t, "42")
		})
	})
}

func TestAttachStdinOnce(t *testing.T) {
	f := newFixture(t)
	spec := supervisortest.Spec(f.rootfs, f.cgroup("once"), "sh", "-c", `while read l; do echo "got $l"; done; echo "stdin ended"; sleep 1000`)
	f.runSpec(ContainerSpec{ID: "once", LogPath: f.logPath("once"), Stdin: true, StdinOnce: true, Spec: spec})
	a, err := f.c.Attach(ctx(t), "once", AttachOptions{Stdin: true})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	out := collect(a.Stdout)
	io.WriteString(a.Stdin, "x\n")
	out.waitFor(t, "got x\n")
	a.Stdin.Close()
	out.waitFor(t, "stdin ended\n")
	a.Close()
	if _, err := f.c.Attach(ctx(t), "once", AttachOptions{Stdin: true}); !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("second attach with stdin: %v, want FailedPrecondition", err)
	}
	// Output-only attachments go on working.
	b, err := f.c.Attach(ctx(t), "once", AttachOptions{})
	if err != nil {
		t.Fatalf("attach without stdin: %v", err)
	}
	b.Close()
}
