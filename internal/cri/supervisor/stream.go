package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Streams (Exec, Attach) do not go through the multiplexed connection:
// each takes a connection of its own. The client sends one request line;
// the supervisor answers with one line carrying, as SCM_RIGHTS, the file
// descriptors of the stream (pipes, or a terminal's master), so the
// client reads and writes the process's stdio directly, with no copy
// through the supervisor, and resizes a terminal with an ioctl on the
// master. A second line ends the stream (an exec's exit code; an attached
// container's output ended). Closing the connection ends the stream from
// the client's side: an exec's process is killed, an attacher detached.

const (
	methodExec   = "Exec"
	methodAttach = "Attach"
)

// streamFDs names the descriptors sent with a stream's first answer, in
// their order: "stdin", "stdout", "stderr", "tty".
type streamFDs struct {
	Names []string `json:"names"`
}

type streamEnd struct {
	ExitCode int32 `json:"exitCode"`
}

// Stream is the client's side of an exec'd process or of an attachment to
// a container. Stdin is nil when stdin was not asked for; with a TTY,
// Stdout carries the terminal's output and Stderr is nil.
type Stream struct {
	Stdin          io.WriteCloser
	Stdout, Stderr io.ReadCloser

	tty  *os.File
	conn *net.UnixConn
	rd   *bufio.Reader
}

// Resize sets the terminal's size; without a TTY it does nothing.
func (s *Stream) Resize(width, height uint16) error {
	if s.tty == nil {
		return nil
	}
	ws := &unix.Winsize{Col: width, Row: height}
	if err := unix.IoctlSetWinsize(int(s.tty.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		return fmt.Errorf("resize terminal: %w", err)
	}
	return nil
}

// Wait returns once the stream ended: for an exec, when its process
// exited, with its exit code (128+signal when killed); for an attachment,
// when the container's output ended. Its output may still be read after.
func (s *Stream) Wait(ctx context.Context) (int32, error) {
	type res struct {
		code int32
		err  error
	}
	done := make(chan res, 1)
	go func() {
		line, err := s.rd.ReadBytes('\n')
		if err != nil {
			done <- res{err: fmt.Errorf("stream: %w", errClosed)}
			return
		}
		var r response
		if err := json.Unmarshal(line, &r); err != nil {
			done <- res{err: fmt.Errorf("stream: decode end: %w", err)}
			return
		}
		if err := decodeError(&r); err != nil {
			done <- res{err: err}
			return
		}
		var e streamEnd
		if len(r.Result) > 0 {
			if err := json.Unmarshal(r.Result, &e); err != nil {
				done <- res{err: fmt.Errorf("stream: decode end: %w", err)}
				return
			}
		}
		done <- res{code: e.ExitCode}
	}()
	select {
	case r := <-done:
		return r.code, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Close ends the stream: an exec'd process still running is killed, an
// attachment is detached (the container goes on). The stdio files are
// closed too.
func (s *Stream) Close() error {
	for _, f := range []io.Closer{s.Stdin, s.Stdout, s.Stderr, s.tty} {
		if f != nil && !isNil(f) {
			f.Close()
		}
	}
	return s.conn.Close()
}

func isNil(c io.Closer) bool {
	f, ok := c.(*os.File)
	return ok && f == nil
}

// openStream dials a connection for one stream, sends the request, and
// returns the first answer's descriptors by name.
func (c *Client) openStream(ctx context.Context, method string, params any) (*Stream, map[string]*os.File, error) {
	// Starts the supervisor when none runs.
	if _, err := c.getConn(ctx); err != nil {
		return nil, nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", socketPath(c.opts.Root))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: dial supervisor: %w", method, err)
	}
	conn := nc.(*net.UnixConn)
	fail := func(err error) (*Stream, map[string]*os.File, error) {
		conn.Close()
		return nil, nil, err
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return fail(fmt.Errorf("encode %s: %w", method, err))
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := json.NewEncoder(conn).Encode(request{ID: 1, Method: method, Params: raw}); err != nil {
		return fail(fmt.Errorf("send %s: %w", method, err))
	}
	line, fds, rest, err := readFirstLine(conn)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", method, err))
	}
	files := map[string]*os.File{}
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
		for _, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
	var r response
	if err := json.Unmarshal(line, &r); err != nil {
		closeAll()
		return fail(fmt.Errorf("%s: decode answer: %w", method, err))
	}
	if err := decodeError(&r); err != nil {
		closeAll()
		return fail(err)
	}
	var names streamFDs
	if err := json.Unmarshal(r.Result, &names); err != nil || len(names.Names) != len(fds) {
		closeAll()
		return fail(fmt.Errorf("%s: answer names %d descriptors, got %d (%v)", method, len(names.Names), len(fds), err))
	}
	for i, n := range names.Names {
		unix.CloseOnExec(fds[i])
		unix.SetNonblock(fds[i], true)
		files[n] = os.NewFile(uintptr(fds[i]), n)
		fds[i] = -1
	}
	if !stop() || ctx.Err() != nil {
		closeAll()
		return fail(fmt.Errorf("%s: %w", method, ctx.Err()))
	}
	conn.SetDeadline(time.Time{})
	s := &Stream{conn: conn, rd: bufio.NewReader(io.MultiReader(bytes.NewReader(rest), conn))}
	return s, files, nil
}

// readFirstLine reads the first answer line and the descriptors that came
// with it; rest is what was read past the line.
func readFirstLine(conn *net.UnixConn) (line []byte, fds []int, rest []byte, err error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(8*4))
	var got []byte
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr == nil {
				for i := range msgs {
					if fs, err := unix.ParseUnixRights(&msgs[i]); err == nil {
						fds = append(fds, fs...)
					}
				}
			}
		}
		got = append(got, buf[:n]...)
		if i := bytes.IndexByte(got, '\n'); i >= 0 {
			return got[:i+1], fds, got[i+1:], nil
		}
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			if errors.Is(err, io.EOF) {
				err = errClosed
			}
			return nil, nil, nil, err
		}
	}
}

// sendStream answers a stream's request with its descriptors.
func sendStream(conn *net.UnixConn, names []string, files []*os.File) error {
	raw, _ := json.Marshal(streamFDs{Names: names})
	line, _ := json.Marshal(&response{ID: 1, Result: raw})
	line = append(line, '\n')
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_, _, err := conn.WriteMsgUnix(line, oob, nil)
	return err
}

// endStream sends a stream's last line: its end or its error.
func endStream(conn *net.UnixConn, end streamEnd, err error) {
	r := &response{ID: 1}
	if err != nil {
		r.Error, r.Code = err.Error(), codeOf(err)
	} else {
		r.Result, _ = json.Marshal(end)
	}
	line, _ := json.Marshal(r)
	conn.Write(append(line, '\n'))
}

// serveStream serves a connection whose first request opens a stream.
func (s *server) serveStream(ctx context.Context, conn *net.UnixConn, req request) {
	var err error
	switch req.Method {
	case methodExec:
		var p execStreamParams
		if err = decodeJSON(req.Params, &p); err == nil {
			err = s.execStream(ctx, conn, p)
		}
	case methodAttach:
		var p attachParams
		if err = decodeJSON(req.Params, &p); err == nil {
			err = s.attach(ctx, conn, p)
		}
	}
	if err != nil {
		// Before the descriptors were sent, this is the first answer.
		endStream(conn, streamEnd{}, err)
	}
}

// clientGone is closed when the client closes the stream's connection.
func clientGone(conn *net.UnixConn) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn)
		close(gone)
	}()
	return gone
}
