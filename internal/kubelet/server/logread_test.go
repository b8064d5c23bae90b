package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)

// criLine is a full line of a CRI log written at t0+sec.
func criLine(sec int, stream, tag, content string) string {
	return fmt.Sprintf("%s %s %s %s\n", t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano), stream, tag, content)
}

func writeLog(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadLogs(t *testing.T) {
	log := []string{
		criLine(0, "stdout", "F", "one"),
		criLine(1, "stderr", "F", "two"),
		criLine(2, "stdout", "P", "thr"),
		criLine(2, "stdout", "F", "ee"),
		criLine(3, "stdout", "F", "four"),
		"garbage that is no CRI line\n",
		criLine(4, "stdout", "F", "five"),
	}
	ts := func(sec int) string { return t0.Add(time.Duration(sec)*time.Second).Format(time.RFC3339Nano) + " " }
	for _, tc := range []struct {
		name string
		o    LogOptions
		want string
	}{
		{"everything", LogOptions{Tail: -1}, "one\ntwo\nthree\nfour\nfive\n"},
		{"tail 2", LogOptions{Tail: 2}, "five\n"}, // the garbage line counts, as upstream's tail counts file lines
		{"tail 3", LogOptions{Tail: 3}, "four\nfive\n"},
		{"tail 0", LogOptions{Tail: 0}, ""},
		{"tail past the start", LogOptions{Tail: 100}, "one\ntwo\nthree\nfour\nfive\n"},
		{"since", LogOptions{Tail: -1, Since: t0.Add(2 * time.Second)}, "three\nfour\nfive\n"},
		{"timestamps once per line", LogOptions{Tail: -1, Timestamps: true}, ts(0) + "one\n" + ts(1) + "two\n" + ts(2) + "three\n" + ts(3) + "four\n" + ts(4) + "five\n"},
		{"limit bytes cuts mid-line", LogOptions{Tail: -1, LimitBytes: 6}, "one\ntw"},
		{"limit bytes past the end", LogOptions{Tail: -1, LimitBytes: 1000}, "one\ntwo\nthree\nfour\nfive\n"},
		{"tail and since", LogOptions{Tail: 4, Since: t0.Add(3 * time.Second)}, "four\nfive\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := ReadLogs(context.Background(), writeLog(t, log...), tc.o, &out, nil, nil); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestReadLogsLongLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	var out bytes.Buffer
	if err := ReadLogs(context.Background(), writeLog(t, criLine(0, "stdout", "F", long), criLine(1, "stdout", "F", "after")), LogOptions{Tail: -1}, &out, nil, nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != long+"\nafter\n" {
		t.Errorf("got %d bytes, want the long line and the next", out.Len())
	}
}

// syncBuffer is written by the follower and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestReadLogsFollow: a follower sees lines written later, a line written
// in two pieces once, the file that replaced a rotated one, and stops
// once the container stopped.
func TestReadLogsFollow(t *testing.T) {
	path := writeLog(t, criLine(0, "stdout", "F", "first"))
	var running sync.Mutex
	stopped := false
	isRunning := func() bool { running.Lock(); defer running.Unlock(); return !stopped }
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- ReadLogs(context.Background(), path, LogOptions{Tail: -1, Follow: true}, &out, nil, isRunning)
	}()
	waitFor(t, "the first line", func() bool { return out.String() == "first\n" })

	appendFile(t, path, criLine(1, "stdout", "F", "second"))
	waitFor(t, "a line written later", func() bool { return out.String() == "first\nsecond\n" })

	// Half a CRI line, then its end.
	line := criLine(2, "stdout", "F", "third")
	appendFile(t, path, line[:20])
	appendFile(t, path, line[20:])
	waitFor(t, "a line written in two pieces", func() bool { return out.String() == "first\nsecond\nthird\n" })

	// Rotation: the runtime's file moves away and a new one starts.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, criLine(3, "stdout", "F", "rotated"))
	waitFor(t, "the rotated log's line", func() bool { return out.String() == "first\nsecond\nthird\nrotated\n" })

	running.Lock()
	stopped = true
	running.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("following did not end after the container stopped")
	}
}

func TestReadLogsFollowEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ReadLogs(ctx, writeLog(t, criLine(0, "stdout", "F", "x")), LogOptions{Tail: -1, Follow: true}, &syncBuffer{}, nil, func() bool { return true })
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a follower whose client went did not end")
	}
}

func TestParseLogQuery(t *testing.T) {
	now := t0.Add(time.Hour)
	for _, tc := range []struct {
		query   string
		want    logQuery
		wantErr string
	}{
		{"", logQuery{LogOptions: LogOptions{Tail: -1}}, ""},
		{"follow=true&timestamps=1&previous=true", logQuery{LogOptions: LogOptions{Tail: -1, Follow: true, Timestamps: true}, Previous: true}, ""},
		{"tailLines=10&limitBytes=5", logQuery{LogOptions: LogOptions{Tail: 10, LimitBytes: 5}}, ""},
		{"sinceSeconds=60", logQuery{LogOptions: LogOptions{Tail: -1, Since: now.Add(-time.Minute)}}, ""},
		{"sinceTime=2026-12-05T21:00:00Z", logQuery{LogOptions: LogOptions{Tail: -1, Since: t0}}, ""},
		{"tailLines=-1", logQuery{}, "tailLines: invalid value -1"},
		{"limitBytes=0", logQuery{}, "limitBytes: invalid value 0"},
		{"sinceSeconds=0", logQuery{}, "sinceSeconds: invalid value 0"},
		{"tailLines=ten", logQuery{}, "must be an integer"},
		{"follow=maybe", logQuery{}, "follow: invalid value"},
		{"sinceSeconds=5&sinceTime=2026-12-05T21:00:00Z", logQuery{}, "at most one of sinceTime or sinceSeconds"},
		{"sinceTime=noon", logQuery{}, "sinceTime: invalid value"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, err := parseLogQuery(q, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Tail != tc.want.Tail || got.LimitBytes != tc.want.LimitBytes || !got.Since.Equal(tc.want.Since) ||
				got.Follow != tc.want.Follow || got.Timestamps != tc.want.Timestamps || got.Previous != tc.want.Previous {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// BenchmarkReadLogs reads a CRI log of 101-byte lines (streambench's) as
// pods/log does without options, and with --timestamps.
func BenchmarkReadLogs(b *testing.B) {
	path := filepath.Join(b.TempDir(), "0.log")
	var buf bytes.Buffer
	line := strings.Repeat("x", 100)
	for range 100000 {
		buf.WriteString("2026-12-05T21:00:00.123456789Z stdout F " + line + "\n")
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    LogOptions
	}{{"plain", LogOptions{Tail: -1}}, {"timestamps", LogOptions{Tail: -1, Timestamps: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(100000 * (len(line) + 1)))
			for b.Loop() {
				if err := ReadLogs(context.Background(), path, tc.o, io.Discard, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
