package embedexe

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

func TestExtractGzip(t *testing.T) {
	dir := t.TempDir()
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	p1, err := ExtractGzip(dir, "helper", gz("one"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p1); string(b) != "one" {
		t.Errorf("extracted %q, want %q", b, "one")
	}
	if st, err := os.Stat(p1); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("extracted file mode %v (%v), want 0755", st.Mode(), err)
	}
	if p2, err := ExtractGzip(dir, "helper", gz("one")); err != nil || p2 != p1 {
		t.Errorf("the same again: %s (%v), want %s", p2, err, p1)
	}
	if p3, err := ExtractGzip(dir, "helper", gz("two")); err != nil || p3 == p1 {
		t.Errorf("other content: %s (%v), want a path of its own", p3, err)
	}
	if _, err := ExtractGzip(dir, "bad", []byte("not gzip")); err == nil {
		t.Error("extracted what is not gzip")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("%d files in the directory, want the two helpers (no half-written file left)", len(ents))
	}
}

func TestPlace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bin")
	for _, s := range []string{"one", "one", "two"} {
		if err := Place(p, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != s {
			t.Errorf("after Place(%q): %q", s, b)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("%d files, want only the placed one", len(ents))
	}
}

func TestRemoveOthers(t *testing.T) {
	dir := t.TempDir()
	old, _ := Extract(dir, "helper", []byte("old"))
	other, _ := Extract(dir, "other", []byte("old"))
	cur, _ := Extract(dir, "helper", []byte("new"))
	RemoveOthers(dir, "helper", cur)
	for p, want := range map[string]bool{old: false, other: true, cur: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
