package supervisor

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// stdio is the supervisor's side of a container's standard streams: the
// read ends of its stdout and stderr pipes and the write end of its stdin,
// or the pseudo-terminal's master with a TTY.
type stdio struct {
	stdout, stderr, stdin *os.File
	console               *os.File
	tty                   bool

	child   procIO // the process's ends, closed once it started
	drained chan struct{}
}

// newStdio makes the pipes of a container's init; with a TTY the runtime
// makes the terminal, whose master setConsole takes.
func newStdio(withStdin, tty bool) (*stdio, error) {
	s := &stdio{tty: tty, drained: make(chan struct{}), child: procIO{tty: tty}}
	if tty {
		return s, nil
	}
	var err error
	if s.stdout, s.child.stdout, err = pipe(true); err != nil {
		return nil, err
	}
	if s.stderr, s.child.stderr, err = pipe(true); err != nil {
		s.Close()
		return nil, err
	}
	if withStdin {
		if s.child.stdin, s.stdin, err = pipe(false); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// pipe makes a pipe whose supervisor end (the read end when ourRead) is
// non-blocking, so that Go's poller waits on it without a thread, and the
// container's end blocking, as programs expect.
func pipe(ourRead bool) (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	ours := p[1]
	if ourRead {
		ours = p[0]
	}
	if err := unix.SetNonblock(ours, true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, nil, fmt.Errorf("pipe: %w", err)
	}
	return os.NewFile(uintptr(p[0]), "pipe-r"), os.NewFile(uintptr(p[1]), "pipe-w"), nil
}

// setConsole takes the terminal's master the runtime made.
func (s *stdio) setConsole(master *os.File) { s.console = pollable(master) }

// pollable returns f as a non-blocking *os.File served by Go's poller.
func pollable(f *os.File) *os.File {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return f
	}
	f.Close()
	unix.CloseOnExec(fd)
	unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), "stdio")
}

func (s *stdio) closeChildEnds() {
	closeFiles([]*os.File{s.child.stdin, s.child.stdout, s.child.stderr})
	s.child = procIO{tty: s.tty}
}

// held lists the files the keeper keeps for the container, in the order
// restoreStdio expects them.
func (s *stdio) held() []*os.File {
	if s.tty {
		return []*os.File{s.console}
	}
	fs := []*os.File{s.stdout, s.stderr}
	if s.stdin != nil {
		fs = append(fs, s.stdin)
	}
	return fs
}

// restoreStdio rebuilds the stdio of a container from the files the keeper
// kept while the supervisor was down.
func restoreStdio(files []*os.File, withStdin, tty bool) (*stdio, error) {
	s := &stdio{tty: tty, drained: make(chan struct{})}
	want := 2
	if tty {
		want = 1
	} else if withStdin {
		want = 3
	}
	if len(files) != want {
		closeFiles(files)
		return nil, fmt.Errorf("keeper held %d stdio files, want %d", len(files), want)
	}
	if tty {
		s.console = pollable(files[0])
		return s, nil
	}
	s.stdout, s.stderr = pollable(files[0]), pollable(files[1])
	if withStdin {
		s.stdin = pollable(files[2])
	}
	return s, nil
}

type source struct {
	stream string
	r      io.Reader
}

func (s *stdio) sources() []source {
	if s.tty {
		return []source{{"stdout", s.console}}
	}
	return []source{{"stdout", s.stdout}, {"stderr", s.stderr}}
}

func (s *stdio) Close() error {
	closeFiles([]*os.File{s.stdout, s.stderr, s.stdin, s.console})
	s.closeChildEnds()
	return nil
}
