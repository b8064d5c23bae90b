package server

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// CRI log files hold one line per write of a container's stdout or
// stderr:
//
//	2026-12-05T21:00:00.123456789Z stdout F hello
//
// The tag is F for a full line and P for a partial one (a line longer
// than the runtime's buffer, continued by the next entries); old
// runtimes wrote no tag at all.

// Stream is the output a log line came from.
type Stream string

const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// LogLine is one parsed line of a CRI log file.
type LogLine struct {
	Time    time.Time
	Stream  Stream
	Partial bool
	// Content is the container's output, without the newline a full
	// line ends in.
	Content []byte
}

var errBadLogLine = errors.New("invalid CRI log line")

// ParseCRILogLine parses one line of a CRI log file (with or without its
// trailing newline). Content shares line's memory.
func ParseCRILogLine(line []byte) (LogLine, error) {
	return parseCRILogLine(line, true)
}

// parseCRILogLine is ParseCRILogLine; without withTime the timestamp is
// only checked to be there, not parsed (Time is zero), which is most of
// the cost of a line when logs are read without --since or --timestamps.
func parseCRILogLine(line []byte, withTime bool) (LogLine, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return LogLine{}, fmt.Errorf("%w: no timestamp", errBadLogLine)
	}
	var t time.Time
	if withTime {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, string(ts)); err != nil {
			return LogLine{}, fmt.Errorf("%w: timestamp %q: %v", errBadLogLine, ts, err)
		}
	}
	stream, rest, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		return LogLine{}, fmt.Errorf("%w: no stream", errBadLogLine)
	}
	out := LogLine{Time: t, Stream: Stream(stream)}
	if out.Stream != Stdout && out.Stream != Stderr {
		return LogLine{}, fmt.Errorf("%w: stream %q is neither stdout nor stderr", errBadLogLine, stream)
	}
	// The tag field: "P", "F" or several ':'-separated tags, the first of
	// which is P or F. Without one (an old runtime), the line is full.
	tag, content, ok := bytes.Cut(rest, []byte(" "))
	first, _, _ := bytes.Cut(tag, []byte(":"))
	switch {
	case ok && string(first) == "P":
		out.Partial, out.Content = true, content
	case ok && string(first) == "F":
		out.Content = content
	case !ok && (string(first) == "P" || string(first) == "F"):
		// An empty entry.
		out.Partial = string(first) == "P"
	default:
		out.Content = rest
	}
	return out, nil
}
