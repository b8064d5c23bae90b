package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

// maxLogLine is the longest line written as one log entry; a longer line
// is cut into partial ("P") entries of this size, as the kubelet expects.
const maxLogLine = 16 << 10

// logTimeFormat is RFC 3339 with a fixed nanosecond width, so that the
// entries sort as text.
const logTimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// logWriter writes a container's stdout and stderr into one file in the
// CRI log format: "<time> <stream> <F|P> <text>\n".
type logWriter struct {
	path string
	now  func() time.Time

	mu sync.Mutex
	f  *os.File // nil when path is "" (output discarded)
}

func openLog(path string) (*logWriter, error) {
	w := &logWriter{path: path, now: time.Now}
	if err := w.Reopen(); err != nil {
		return nil, err
	}
	return w, nil
}

// Reopen closes the file and opens path again, so that a rotated log goes
// on in a new file.
func (w *logWriter) Reopen() error {
	if w.path == "" {
		return nil
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open container log: %w", err)
	}
	w.mu.Lock()
	old := w.f
	w.f = f
	w.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// entry writes one log entry with a single write, so that entries of the
// two streams never interleave.
func (w *logWriter) entry(stream string, partial bool, text []byte) {
	tag := " F "
	if partial {
		tag = " P "
	}
	buf := make([]byte, 0, len(logTimeFormat)+len(stream)+len(text)+4)
	buf = w.now().UTC().AppendFormat(buf, logTimeFormat)
	buf = append(buf, ' ')
	buf = append(buf, stream...)
	buf = append(buf, tag...)
	buf = append(buf, text...)
	buf = append(buf, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		// A full disk must not stop the container: the entry is lost.
		_, _ = w.f.Write(buf)
	}
}

// copyStream reads r until EOF and writes each line as an entry of stream.
func (w *logWriter) copyStream(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			w.entry(stream, false, line[:len(line)-1])
		case errors.Is(err, bufio.ErrBufferFull):
			w.entry(stream, true, line)
		case len(line) > 0:
			// Cut at exit (or read error): what is left is partial.
			w.entry(stream, true, line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			// A terminal's master reads EIO once the last slave is closed.
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EIO) {
				return nil
			}
			return err
		}
	}
}

func (w *logWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
