package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// LogOptions say which part of a container's log to read, as the
// options of pods/log do.
type LogOptions struct {
	// Since skips lines written before it; zero reads from the start.
	Since time.Time
	// Tail reads only the last Tail lines; negative reads all.
	Tail int64
	// LimitBytes stops after that many bytes of output; 0 is no limit.
	LimitBytes int64
	// Timestamps prefixes each line with the time it was written.
	Timestamps bool
	// Follow keeps reading what the container writes next until ctx ends
	// or the container stopped (Running returns false) and everything it
	// wrote was read. The file being rotated is followed to the new one.
	Follow bool
}

// followPoll is how often a followed log is checked for new lines.
const followPoll = 100 * time.Millisecond

// stateCheck is how often a followed log's container is asked whether
// it still runs, while nothing new arrives.
const stateCheck = time.Second

// errLimitReached ends a read at LimitBytes; it is not an error to the
// reader's caller.
var errLimitReached = errors.New("log limit reached")

// ReadLogs writes the CRI log file at path to w in the form pods/log
// gives: the containers' output, lines prefixed by their time with
// Timestamps. running tells whether the container still writes (for
// Follow); flush, if not nil, is called whenever w caught up with the file.
func ReadLogs(ctx context.Context, path string, o LogOptions, w io.Writer, flush func(), running func() bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log %s: %w", path, err)
	}
	defer func() { f.Close() }()
	if o.Tail >= 0 {
		start, err := tailStart(f, o.Tail)
		if err != nil {
			return fmt.Errorf("tail log %s: %w", path, err)
		}
		if _, err := f.Seek(start, io.SeekStart); err != nil {
			return fmt.Errorf("seek log %s: %w", path, err)
		}
	}
	lw := &logWriter{w: w, o: o, left: o.LimitBytes}
	r := bufio.NewReaderSize(f, 64<<10)
	var pending []byte      // a line read only in part: the rest is not written yet
	var lastCheck time.Time // the first end reached asks at once
	for {
		chunk, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			pending = append(pending, chunk...)
			continue
		}
		if err == nil {
			line := chunk
			if len(pending) > 0 {
				pending = append(pending, chunk...)
				line = pending
			}
			if werr := lw.line(line); werr != nil {
				if errors.Is(werr, errLimitReached) {
					return nil
				}
				return werr
			}
			pending = pending[:0]
			continue
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("read log %s: %w", path, err)
		}
		// At the end of what is written so far.
		pending = append(pending, chunk...)
		if !o.Follow {
			if len(pending) > 0 {
				// A last line without its newline (the runtime was
				// writing it): give what is there.
				if werr := lw.line(pending); werr != nil && !errors.Is(werr, errLimitReached) {
					return werr
				}
			}
			return nil
		}
		if flush != nil {
			flush()
		}
		if rotated, err := reopened(f, path); err != nil {
			return err
		} else if rotated != nil {
			// The runtime moved on to a new file: what is left of a
			// line in the old one will not be completed.
			f.Close()
			f, pending = rotated, pending[:0]
			r.Reset(f)
			continue
		}
		if time.Since(lastCheck) >= stateCheck {
			lastCheck = time.Now()
			if running != nil && !running() {
				// Read once more: the last lines may have come after
				// the read that hit the end.
				o.Follow = false
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
	}
}

// reopened returns the file now at path when it is not f any more (the
// log was rotated), or f itself rewound when it was truncated.
func reopened(f *os.File, path string) (*os.File, error) {
	cur, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat log: %w", err)
	}
	now, err := os.Stat(path)
	if err != nil {
		// Between the rename and the new file's creation.
		return nil, nil
	}
	if !os.SameFile(cur, now) {
		nf, err := os.Open(path)
		if err != nil {
			return nil, nil
		}
		return nf, nil
	}
	if pos, err := f.Seek(0, io.SeekCurrent); err == nil && now.Size() < pos {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("rewind truncated log: %w", err)
		}
	}
	return nil, nil
}

// tailStart is the offset of the first of the last n lines of f.
func tailStart(f *os.File, n int64) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := st.Size()
	if n == 0 {
		return end, nil
	}
	buf := make([]byte, 32<<10)
	pos := end
	var found int64
	skipLast := true // the newline that ends the last line starts nothing
	for pos > 0 {
		size := int64(len(buf))
		if pos < size {
			size = pos
		}
		pos -= size
		if _, err := f.ReadAt(buf[:size], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		b := buf[:size]
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				skipLast = false
				continue
			}
			if skipLast {
				skipLast = false
				continue
			}
			found++
			if found == n {
				return pos + int64(i) + 1, nil
			}
		}
	}
	return 0, nil
}

// logWriter turns CRI log lines into a container's output.
type logWriter struct {
	w io.Writer
	o LogOptions
	// left is what LimitBytes still allows.
	left int64
	// midLine: the last line written was partial, so the next one
	// continues it and takes no timestamp.
	midLine bool
	stamp   []byte
}

func (lw *logWriter) line(raw []byte) error {
	l, err := parseCRILogLine(raw, lw.o.Timestamps || !lw.o.Since.IsZero())
	if err != nil {
		// Upstream skips what it cannot parse rather than ending the
		// stream.
		return nil
	}
	if !lw.o.Since.IsZero() && l.Time.Before(lw.o.Since) {
		return nil
	}
	if lw.o.Timestamps && !lw.midLine {
		lw.stamp = l.Time.AppendFormat(lw.stamp[:0], time.RFC3339Nano)
		lw.stamp = append(lw.stamp, ' ')
		if err := lw.write(lw.stamp); err != nil {
			return err
		}
	}
	lw.midLine = l.Partial
	if l.Partial {
		return lw.write(l.Content)
	}
	// A full line's content is followed by its newline in raw: one write.
	if end := len(l.Content); end < cap(l.Content) && l.Content[:end+1][end] == '\n' {
		return lw.write(l.Content[:end+1])
	}
	if err := lw.write(l.Content); err != nil {
		return err
	}
	return lw.write(newline)
}

var newline = []byte("\n")

func (lw *logWriter) write(b []byte) error {
	if lw.o.LimitBytes > 0 {
		if lw.left <= 0 {
			return errLimitReached
		}
		if int64(len(b)) > lw.left {
			b = b[:lw.left]
		}
		lw.left -= int64(len(b))
	}
	if _, err := lw.w.Write(b); err != nil {
		return err
	}
	if lw.o.LimitBytes > 0 && lw.left == 0 {
		return errLimitReached
	}
	return nil
}
