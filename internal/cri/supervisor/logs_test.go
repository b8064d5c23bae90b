package supervisor

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

type eioReader struct{ r io.Reader }

func (e eioReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, syscall.EIO // what a terminal's master reads at the end
	}
	return n, err
}

func TestCopyStream(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 120000000, time.FixedZone("x", 3600))
	const ts = "2026-12-05T09:00:00.120000000Z"
	long := strings.Repeat("b", maxLogLine+10)
	for _, tc := range []struct {
		name string
		in   io.Reader
		want []string
	}{
		{"lines", strings.NewReader("a\nb\n"), []string{ts + " stdout F a", ts + " stdout F b"}},
		{"partial at end", strings.NewReader("a\nb"), []string{ts + " stdout F a", ts + " stdout P b"}},
		{"empty line", strings.NewReader("\n"), []string{ts + " stdout F "}},
		{"long line", strings.NewReader(long + "\n"), []string{ts + " stdout P " + long[:maxLogLine], ts + " stdout F " + long[maxLogLine:]}},
		{"exactly the limit", strings.NewReader(long[:maxLogLine] + "\n"), []string{ts + " stdout P " + long[:maxLogLine], ts + " stdout F "}},
		{"terminal end", eioReader{strings.NewReader("x\r\n")}, []string{ts + " stdout F x\r"}},
		{"nothing", strings.NewReader(""), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			w, err := openLog(path)
			if err != nil {
				t.Fatal(err)
			}
			w.now = func() time.Time { return at }
			if err := w.copyStream("stdout", tc.in); err != nil {
				t.Fatalf("copyStream: %v", err)
			}
			w.Close()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if len(b) > 0 {
				got = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("log\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestDiscardedLog(t *testing.T) {
	w, err := openLog("")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.copyStream("stdout", strings.NewReader("a\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
}

func TestExtract(t *testing.T) {
	root := t.TempDir()
	p1, err := extract(root, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := extract(root, []byte("one"))
	if err != nil || p2 != p1 {
		t.Errorf("same content extracted again: %s (%v), want %s", p2, err, p1)
	}
	p3, err := extract(root, []byte("two"))
	if err != nil || p3 == p1 {
		t.Errorf("other content: %s (%v), want a path of its own", p3, err)
	}
	st, err := os.Stat(p1)
	if err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("extracted binary %v (%v): want executable", st.Mode(), err)
	}
	if b, _ := os.ReadFile(p3); string(b) != "two" {
		t.Errorf("content %q", b)
	}
}
