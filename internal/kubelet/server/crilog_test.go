package server

import (
	"bytes"
	"testing"
	"time"
)

func TestParseCRILogLine(t *testing.T) {
	ts := time.Date(2026, 12, 5, 21, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		name, line string
		want       LogLine
		wantErr    bool
	}{
		{name: "full stdout", line: "2026-12-05T21:00:00.123456789Z stdout F hello world\n", want: LogLine{Time: ts, Stream: Stdout, Content: []byte("hello world")}},
		{name: "partial stderr", line: "2026-12-05T21:00:00.123456789Z stderr P part", want: LogLine{Time: ts, Stream: Stderr, Partial: true, Content: []byte("part")}},
		{name: "content with spaces kept", line: "2026-12-05T21:00:00.123456789Z stdout F  two  spaces ", want: LogLine{Time: ts, Stream: Stdout, Content: []byte(" two  spaces ")}},
		{name: "several tags", line: "2026-12-05T21:00:00.123456789Z stdout F:x:y tagged", want: LogLine{Time: ts, Stream: Stdout, Content: []byte("tagged")}},
		{name: "empty full line", line: "2026-12-05T21:00:00.123456789Z stdout F ", want: LogLine{Time: ts, Stream: Stdout, Content: []byte{}}},
		{name: "empty without a space after the tag", line: "2026-12-05T21:00:00.123456789Z stdout F", want: LogLine{Time: ts, Stream: Stdout}},
		{name: "no tag (old runtimes)", line: "2026-12-05T21:00:00.123456789Z stdout untagged output", want: LogLine{Time: ts, Stream: Stdout, Content: []byte("untagged output")}},
		{name: "timezone offset", line: "2026-12-05T22:00:00.123456789+01:00 stdout F x", want: LogLine{Time: ts, Stream: Stdout, Content: []byte("x")}},
		{name: "bad timestamp", line: "yesterday stdout F x", wantErr: true},
		{name: "bad stream", line: "2026-12-05T21:00:00Z stdin F x", wantErr: true},
		{name: "no stream", line: "2026-12-05T21:00:00Z", wantErr: true},
		{name: "empty", line: "", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCRILogLine([]byte(tc.line))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parsed %q as %+v, want an error", tc.line, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tc.want.Time) || got.Stream != tc.want.Stream || got.Partial != tc.want.Partial || !bytes.Equal(got.Content, tc.want.Content) {
				t.Errorf("got %+v (%q), want %+v (%q)", got, got.Content, tc.want, tc.want.Content)
			}
		})
	}
}

func FuzzParseCRILogLine(f *testing.F) {
	for _, s := range []string{
		"2026-12-05T21:00:00.123456789Z stdout F hello\n",
		"2026-12-05T21:00:00Z stderr P x",
		"2026-12-05T21:00:00Z stdout F:a:b",
		"2026-12-05T21:00:00Z stdout",
		" ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := append([]byte(nil), line...)
		l, err := ParseCRILogLine(line)
		if !bytes.Equal(line, orig) {
			t.Fatalf("the parser changed its input")
		}
		if err != nil {
			return
		}
		if l.Stream != Stdout && l.Stream != Stderr {
			t.Fatalf("stream %q accepted", l.Stream)
		}
		if bytes.Contains(l.Content, []byte("\n")) && !bytes.Contains(bytes.TrimSuffix(orig, []byte("\n")), l.Content) {
			t.Fatalf("content %q not from the line %q", l.Content, orig)
		}
		if !bytes.Contains(orig, l.Content) {
			t.Fatalf("content %q not from the line %q", l.Content, orig)
		}
	})
}
