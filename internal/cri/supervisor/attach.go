package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// AttachOptions say which of the container's streams an attachment gets.
type AttachOptions struct {
	Stdin bool // write to the container's stdin (it must have been created with Stdin)
}

type attachParams struct {
	ID string `json:"id"`
	AttachOptions
}

// Attach connects to the running container's own stdio: its output from
// now on (the log goes on being written; a slow attacher loses output
// rather than stalling the container), and, with Stdin, its stdin. With a
// TTY container, Stdout is the terminal's output and Resize resizes it.
// Stream.Close detaches; Stream.Wait returns when the container's output
// ended.
func (c *Client) Attach(ctx context.Context, id string, o AttachOptions) (*Stream, error) {
	s, files, err := c.openStream(ctx, methodAttach, attachParams{ID: id, AttachOptions: o})
	if err != nil {
		return nil, err
	}
	s.Stdout = files["stdout"]
	if f := files["stderr"]; f != nil {
		s.Stderr = f
	}
	if t := files["tty"]; t != nil {
		s.tty = t
		if o.Stdin {
			s.Stdin = noClose{t}
		}
	} else if f := files["stdin"]; f != nil {
		s.Stdin = &attachStdin{File: f, conn: s.conn}
	}
	return s, nil
}

// attachStdin is an attachment's stdin: closing it tells the supervisor,
// which closes a StdinOnce container's stdin.
type attachStdin struct {
	*os.File
	conn *net.UnixConn
	once sync.Once
}

func (a *attachStdin) Close() error {
	err := a.File.Close()
	a.once.Do(func() { a.conn.Write([]byte(stdinClosedLine)) })
	return err
}

// stdinClosedLine is what an attached client sends when its stdin ended.
const stdinClosedLine = "{\"stdinClosed\":true}\n"

// fanout copies containers' output to their attachers.
type fanout struct {
	mu   sync.Mutex
	subs map[string]map[*attacher]struct{} // by container ID
}

type attacher struct {
	stream string // "stdout" or "stderr"
	ch     chan []byte
	w      *os.File
	done   chan struct{}
}

// attacherBuffer is how many reads an attacher may lag behind before its
// output is dropped.
const attacherBuffer = 256

func newFanout() *fanout { return &fanout{subs: map[string]map[*attacher]struct{}{}} }

func (f *fanout) add(id, stream string, w *os.File) *attacher {
	a := &attacher{stream: stream, ch: make(chan []byte, attacherBuffer), w: w, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		defer w.Close()
		for b := range a.ch {
			if _, err := w.Write(b); err != nil {
				for range a.ch {
				}
				return
			}
		}
	}()
	f.mu.Lock()
	if f.subs[id] == nil {
		f.subs[id] = map[*attacher]struct{}{}
	}
	f.subs[id][a] = struct{}{}
	f.mu.Unlock()
	return a
}

// remove detaches a; what it was sent is still written, then its pipe is
// closed.
func (f *fanout) remove(id string, a *attacher) {
	f.mu.Lock()
	if _, ok := f.subs[id][a]; ok {
		delete(f.subs[id], a)
		if len(f.subs[id]) == 0 {
			delete(f.subs, id)
		}
		close(a.ch)
	}
	f.mu.Unlock()
}

func (f *fanout) write(id, stream string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var cp []byte
	for a := range f.subs[id] {
		if a.stream != stream {
			continue
		}
		if cp == nil {
			cp = append([]byte(nil), b...)
		}
		select {
		case a.ch <- cp:
		default: // too slow: this output is lost for it, not for the log
		}
	}
}

// tee returns r, whose reads are also sent to the container's attachers.
func (f *fanout) tee(id, stream string, r io.Reader) io.Reader {
	return &teeReader{f: f, id: id, stream: stream, r: r}
}

type teeReader struct {
	f          *fanout
	id, stream string
	r          io.Reader
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.f.write(t.id, t.stream, p[:n])
	}
	return n, err
}

func (s *server) attach(ctx context.Context, conn *net.UnixConn, p attachParams) error {
	c, err := s.get(p.ID)
	if err != nil {
		return err
	}
	c.mu.Lock()
	cio, status, withStdin := c.io, c.rec.State.Status, c.rec.Stdin
	c.mu.Unlock()
	if status != Running || cio == nil {
		return fmt.Errorf("attach to container %s: %w: it is %s", p.ID, ErrFailedPrecondition, status)
	}
	if p.Stdin && !withStdin && !cio.tty {
		return fmt.Errorf("attach to container %s: %w: it was created without stdin", p.ID, ErrFailedPrecondition)
	}
	var names []string
	var send []*os.File
	defer func() { closeFiles(send) }()
	var subs []*attacher
	defer func() {
		for _, a := range subs {
			s.attachers.remove(p.ID, a)
		}
	}()
	streams := []string{"stdout", "stderr"}
	if cio.tty {
		streams = streams[:1]
	}
	for _, st := range streams {
		r, w, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("attach pipe: %w", err)
		}
		subs = append(subs, s.attachers.add(p.ID, st, w))
		send = append(send, r)
		names = append(names, st)
	}
	// The held stdin (or terminal) is shared: a duplicate goes to the client.
	var in *os.File
	wantIn := cio.tty || p.Stdin
	switch {
	case cio.tty:
		in = cio.console
		names = append(names, "tty")
	case p.Stdin:
		in = cio.stdin
		names = append(names, "stdin")
	}
	if wantIn {
		c.mu.Lock()
		fd, err := -1, error(nil)
		if cio.tty || cio.stdin != nil {
			if !cio.tty {
				in = cio.stdin
			}
			fd, err = unix.FcntlInt(in.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		} else {
			err = fmt.Errorf("%w: its stdin was closed when its first attachment ended (stdinOnce)", ErrFailedPrecondition)
		}
		c.mu.Unlock()
		if err != nil {
			return fmt.Errorf("attach to container %s: duplicate stdin: %w", p.ID, err)
		}
		send = append(send, os.NewFile(uintptr(fd), "stdin"))
	}
	if err := sendStream(conn, names, send); err != nil {
		return nil
	}
	closeFiles(send)
	send = nil
	select {
	case <-cio.drained:
		for _, a := range subs {
			s.attachers.remove(p.ID, a)
			<-a.done
		}
		endStream(conn, streamEnd{}, nil)
	case <-s.attachedClient(c, conn, p.Stdin && !cio.tty):
	case <-ctx.Done():
	}
	return nil
}

// attachedClient reads what the attached client sends until it goes: the
// end of its stdin closes a StdinOnce container's stdin (the first
// attachment's end is the end of its input, as the CRI says).
func (s *server) attachedClient(c *container, conn *net.UnixConn, withStdin bool) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			if withStdin && sc.Text()+"\n" == stdinClosedLine {
				s.closeStdinOnce(c)
			}
		}
	}()
	return gone
}

// closeStdinOnce closes a StdinOnce container's stdin, and the keeper's
// copy of it, so that the container reads EOF.
func (s *server) closeStdinOnce(c *container) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.rec.StdinOnce || c.io == nil || c.io.stdin == nil {
		return
	}
	c.io.stdin.Close()
	c.io.stdin = nil
	c.rec.StdinClosed = true
	if err := c.persist(); err != nil {
		s.log.Warn("record closed stdin", "id", c.rec.ID, "err", err)
	}
	s.keep.hold(c.rec.ID, c.io.held())
}
