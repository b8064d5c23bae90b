package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"gopkg.in/natefinch/lumberjack.v2"
)

// LogOptions are upstream's --audit-log-* flags.
type LogOptions struct {
	// Path is the log file; "-" is standard output.
	Path string
	// MaxSize is the size in megabytes at which the file is rotated
	// (0: never); MaxBackups how many rotated files are kept (0: all);
	// MaxAge how many days a rotated file is kept (0: forever).
	MaxSize, MaxBackups, MaxAge int
}

// Log writes events as JSON lines, one write per event, in the order
// they are written (upstream's blocking log backend).
type Log struct {
	mu  sync.Mutex
	out io.Writer
	// close releases the file; nil for standard output.
	close func() error
}

// OpenLog opens the log o describes, creating its directory.
func OpenLog(o LogOptions) (*Log, error) {
	if o.Path == "-" {
		return &Log{out: os.Stdout}, nil
	}
	if o.MaxSize < 0 || o.MaxBackups < 0 || o.MaxAge < 0 {
		return nil, fmt.Errorf("--audit-log-maxsize, --audit-log-maxbackup and --audit-log-maxage must not be negative")
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	// Opened once now so that a path that cannot be written fails the
	// start, not the first request.
	f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	f.Close()
	size := o.MaxSize
	if size == 0 {
		// lumberjack's 0 is 100 MB; upstream's 0 is no rotation by size.
		size = 1 << 30
	}
	lj := &lumberjack.Logger{Filename: o.Path, MaxSize: size, MaxBackups: o.MaxBackups, MaxAge: o.MaxAge}
	return &Log{out: lj, close: lj.Close}, nil
}

// Write records ev. An event that cannot be written is reported, and the
// request goes on (upstream's log backend does the same).
func (l *Log) Write(ev *Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode audit event: %w", err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.out.Write(b); err != nil {
		return fmt.Errorf("write audit event: %w", err)
	}
	return nil
}

// Close closes the file.
func (l *Log) Close() error {
	if l.close == nil {
		return nil
	}
	return l.close()
}
