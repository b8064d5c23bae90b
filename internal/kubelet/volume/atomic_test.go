package volume

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	if err := writeAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o600}}, nil); err != nil {
		t.Fatal(err)
	}
	if read("a") != "1" || read("sub/b") != "2" {
		t.Fatalf("a=%q sub/b=%q", read("a"), read("sub/b"))
	}
	if fi, err := os.Stat(filepath.Join(dir, "sub/b")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode of sub/b: %v %v", fi, err)
	}
	target, _ := os.Readlink(filepath.Join(dir, "..data"))
	// The same content: nothing is rewritten.
	if err := writeAtomic(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o644}, "sub/b": {Data: []byte("2"), Mode: 0o600}}, nil); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, "..data")); again != target {
		t.Errorf("unchanged content was rewritten: %s -> %s", target, again)
	}
	// An update swaps the whole set: new key in, removed key out.
	if err := writeAtomic(dir, map[string]File{"a": {Data: []byte("one"), Mode: 0o644}, "c": {Data: []byte("3"), Mode: 0o644}}, nil); err != nil {
		t.Fatal(err)
	}
	if read("a") != "one" || read("c") != "3" {
		t.Errorf("after update a=%q c=%q", read("a"), read("c"))
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("removed key still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, target)); !os.IsNotExist(err) {
		t.Errorf("old data dir %s still there: %v", target, err)
	}
	if err := writeAtomic(dir, map[string]File{"../escape": {Data: []byte("x")}}, nil); err == nil {
		t.Errorf("a path out of the volume was accepted")
	}
}
