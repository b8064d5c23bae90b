package build

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree makes files under dir; a value "->target" makes a symlink.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
	}
}

func TestWriteContextDockerignore(t *testing.T) {
	cases := []struct {
		name   string
		ignore string
		want   []string
	}{
		{"none", "", []string{"Dockerfile", "app.py", "build/", "build/keep.txt", "build/out.bin", "link", "node_modules/", "node_modules/x.js", "secret.env"}},
		{"files and dirs", "secret.env\nnode_modules\n", []string{".dockerignore", "Dockerfile", "app.py", "build/", "build/keep.txt", "build/out.bin", "link"}},
		{"glob with exception", "build/*\n!build/keep.txt\n*.env\n", []string{".dockerignore", "Dockerfile", "app.py", "build/", "build/keep.txt", "link", "node_modules/", "node_modules/x.js"}},
		{"ignore everything but", "*\n!app.py\n", []string{"app.py"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"Dockerfile": "FROM x", "app.py": "print()", "secret.env": "K=V",
				"node_modules/x.js": "x", "build/out.bin": "bin", "build/keep.txt": "keep", "link": "->app.py",
			}
			if tc.ignore != "" {
				files[".dockerignore"] = tc.ignore
			}
			writeTree(t, dir, files)
			var buf bytes.Buffer
			if err := WriteContext(dir, &buf); err != nil {
				t.Fatal(err)
			}
			got := tarNames(t, buf.Bytes())
			want := slices.Clone(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("context holds\n%v\nwant\n%v", got, want)
			}
		})
	}
}

func TestExtractContext(t *testing.T) {
	mk := func(entries ...*tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range entries {
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(h.Linkname))
				body := h.Linkname
				h.Linkname = ""
				tw.WriteHeader(h)
				io.WriteString(tw, body)
				continue
			}
			tw.WriteHeader(h)
		}
		tw.Close()
		return buf.Bytes()
	}
	cases := []struct {
		name string
		tar  []byte
		err  string
	}{
		{"files and links", mk(&tar.Header{Name: "a/", Typeflag: tar.TypeDir, Mode: 0o755}, &tar.Header{Name: "a/b", Typeflag: tar.TypeReg, Mode: 0o600, Linkname: "hi"}, &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), ""},
		{"climbs out", mk(&tar.Header{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"}), "leaves the context"},
		{"climbs out deeper", mk(&tar.Header{Name: "a/../../evil", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "x"}), "leaves the context"},
		{"device", mk(&tar.Header{Name: "dev", Typeflag: tar.TypeChar, Mode: 0o644}), "unsupported entry type"},
		{"not a tar", []byte("hello, this is not a tar archive at all, but it is long enough to be read as a header block? no."), "read build context"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := filepath.Join(dir, "ctx")
			os.Mkdir(ctx, 0o700)
			err := ExtractContext(bytes.NewReader(tc.tar), ctx)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
					t.Fatal("a file was written outside the context")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(ctx, "a/b")); err != nil || string(b) != "hi" {
				t.Fatalf("a/b = %q, %v", b, err)
			}
			if fi, _ := os.Stat(filepath.Join(ctx, "a/b")); fi.Mode().Perm() != 0o600 {
				t.Fatalf("a/b mode %v", fi.Mode())
			}
		})
	}
}

func TestSources(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"app.py": "x", "lib/a.py": "a", "lib/b.py": "b", "lib/c.txt": "c",
		"etc": "->/etc", "inside": "->lib", "abs": "->/lib/a.py",
	})
	cases := []struct {
		patterns []string
		want     []string // Rel=Path relative to root
		err      string
	}{
		{[]string{"app.py"}, []string{"app.py=app.py"}, ""},
		{[]string{"./lib/"}, []string{"lib=lib"}, ""},
		{[]string{"lib/*.py"}, []string{"lib/a.py=lib/a.py", "lib/b.py=lib/b.py"}, ""},
		{[]string{"*.py", "lib/c.txt"}, []string{"app.py=app.py", "lib/c.txt=lib/c.txt"}, ""},
		{[]string{"../../app.py"}, []string{"app.py=app.py"}, ""},
		{[]string{"inside/a.py"}, []string{"inside/a.py=lib/a.py"}, ""},
		// an absolute link is resolved inside the root, never on the host
		{[]string{"abs"}, []string{"abs=lib/a.py"}, ""},
		{[]string{"etc/passwd"}, nil, `"etc/passwd"`}, // etc is root/etc: a loop, not the host's
		{[]string{"nothere.txt"}, nil, `"nothere.txt": not found in the build context`},
		{[]string{"*.go"}, nil, `"*.go": no file in the build context matches`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.patterns, ","), func(t *testing.T) {
			srcs, err := Sources(root, tc.patterns)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range srcs {
				rel, _ := filepath.Rel(root, s.Path)
				got = append(got, s.Rel+"="+rel)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("sources %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHashSources(t *testing.T) {
	base := map[string]string{"d/a": "1", "d/b": "2", "l": "->d/a"}
	hash := func(change func(root string)) string {
		root := t.TempDir()
		writeTree(t, root, base)
		if change != nil {
			change(root)
		}
		srcs, err := Sources(root, []string{"d", "l"})
		if err != nil {
			t.Fatal(err)
		}
		h, err := HashSources(srcs)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	same := hash(nil)
	if hash(nil) != same {
		t.Fatal("the same files hash differently")
	}
	changes := map[string]func(root string){
		"content":     func(r string) { os.WriteFile(filepath.Join(r, "d/a"), []byte("9"), 0o644) },
		"mode":        func(r string) { os.Chmod(filepath.Join(r, "d/b"), 0o755) },
		"new file":    func(r string) { os.WriteFile(filepath.Join(r, "d/c"), nil, 0o644) },
		"link target": func(r string) { os.Remove(filepath.Join(r, "l")); os.Symlink("d/b", filepath.Join(r, "l")) },
		"rename":      func(r string) { os.Rename(filepath.Join(r, "d/b"), filepath.Join(r, "d/c")) },
	}
	for name, ch := range changes {
		if hash(ch) == same {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
	if Key("a", "b") == Key("a", "c") || Key("a", "b") == Key("ab") || Key("a", "b") != Key("a", "b") {
		t.Error("Key does not tell its inputs apart")
	}
}

func FuzzExtractContext(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "a/b", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.WriteHeader(&tar.Header{Name: "../x", Typeflag: tar.TypeSymlink, Linkname: "/"})
	tw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		ctx := filepath.Join(dir, "ctx")
		os.Mkdir(ctx, 0o700)
		ExtractContext(bytes.NewReader(b), ctx)
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("extraction wrote outside the context: %v", ents)
		}
	})
}
