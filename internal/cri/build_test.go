package cri

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/build"
	"github.com/kemudi/kemudi/internal/cri/image"
)

// appFiles is a two-stage build using every instruction the tutorial's
// Dockerfiles use, and then some.
var appFiles = map[string]string{
	"Dockerfile": `FROM busybox AS builder
WORKDIR /src
COPY greet.txt .
RUN echo "built by $(id -u)" > built.txt && cat greet.txt >> built.txt

FROM busybox
ARG WHO=world
ENV GREETING="hello $WHO"
LABEL org.example.app=demo
EXPOSE 8080
WORKDIR /app
COPY --chown=nobody:nogroup app.sh ./
COPY dir/ /app/dir/
COPY . /ctx/
COPY --from=builder /src/built.txt /app/
RUN chmod +x /app/app.sh && rm /bin/vi && mkdir -p data && echo x > data/f
USER nobody
CMD ["/app/app.sh"]
`,
	"greet.txt":     "greetings from the first stage\n",
	"app.sh":        "#!/bin/sh\necho \"$GREETING from $(id -un) in $(pwd)\"\ncat /app/built.txt\nls /app/dir\nstat -c '%U %a' /app/app.sh\ntest -e /ctx/secret.txt && echo LEAK || echo nosecret\ntest -e /bin/vi && echo vi || echo novi\ncat /app/data/f\n",
	"dir/f1":        "one",
	"secret.txt":    "do not send",
	".dockerignore": "secret.txt\n",
}

func TestBuildAndRun(t *testing.T) {
	f := newBuildFixture(t)
	req := BuildRequest{Tags: []string{"127.0.0.1:5000/test/app:1"}, BuildArgs: map[string]string{"WHO": "kemudi"}}
	img, out, err := f.build(appFiles, req)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	t.Logf("first build:\n%s", out)
	f.assertNothingLeft()
	if !slices.Contains(img.RepoTags, "127.0.0.1:5000/test/app:1") {
		t.Errorf("tags %v", img.RepoTags)
	}
	c := img.Config
	if c.User != "nobody" || c.WorkingDir != "/app" || !slices.Equal(c.Cmd, []string{"/app/app.sh"}) ||
		c.Labels["org.example.app"] != "demo" || !slices.Equal(c.ExposedPorts, []string{"8080/tcp"}) ||
		!slices.Contains(c.Env, "GREETING=hello kemudi") {
		t.Errorf("config %+v", c)
	}
	got, code := f.runImage(img.ID)
	want := "hello kemudi from nobody in /app\nbuilt by 0\ngreetings from the first stage\nf1\nnobody 755\nnosecret\nnovi\nx\n"
	if got != want || code != 0 {
		t.Errorf("the built image's container printed (exit %d)\n%s\nwant\n%s", code, got, want)
	}

	// A rebuild of the same context is all cache, and the same image.
	img2, out, err := f.build(appFiles, req)
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	t.Logf("rebuild:\n%s", out)
	steps := regexp.MustCompile(`(?m)^#\d+ \[[^\]]+\] (\w+)`).FindAllStringSubmatch(out, -1)
	want2 := 0
	for _, s := range steps {
		if s[1] != "FROM" && s[1] != "ARG" {
			want2++
		}
	}
	if n := strings.Count(out, " CACHED\n"); n != want2 || want2 == 0 {
		t.Errorf("%d steps CACHED, want %d", n, want2)
	}
	if img2.ID != img.ID {
		t.Errorf("rebuild made %s, first build %s", img2.ID, img.ID)
	}
	f.assertNothingLeft()

	// A changed source file runs its COPY and what follows again.
	changed := map[string]string{}
	for k, v := range appFiles {
		changed[k] = v
	}
	changed["dir/f1"] = "changed"
	img3, out, err := f.build(changed, req)
	if err != nil {
		t.Fatalf("build after a change: %v\n%s", err, out)
	}
	if img3.ID == img.ID || !strings.Contains(out, "COPY dir/ /app/dir/\n#") || strings.Contains(out[strings.Index(out, "COPY dir/"):], "CACHED") {
		t.Errorf("after changing dir/f1 the COPY of dir/ and the steps after it must run again:\n%s", out)
	}
}

func TestBuildBadInput(t *testing.T) {
	f := newBuildFixture(t)
	cases := []struct {
		name       string
		dockerfile string
		target     string
		want       []string
	}{
		{"syntax error", "FROM busybox\nRUN true\nENV\n", "", []string{"Dockerfile:3", "ENV requires at least one argument"}},
		{"unknown instruction", "FROM busybox\nFORM x\n", "", []string{"Dockerfile:2", "unknown instruction: FORM"}},
		{"missing COPY source", "FROM busybox\nCOPY nothere.txt /\n", "", []string{"Dockerfile:2", "nothere.txt", "not found"}},
		{"failing RUN", "FROM busybox\nRUN echo some-output && echo on-stderr >&2 && exit 3\n", "", []string{"Dockerfile:2", "exit code: 3", "some-output", "on-stderr"}},
		{"no such target", "FROM busybox AS one\nRUN true\n", "two", []string{`target stage "two" could not be found`}},
		{"no such base", "FROM 127.0.0.1:1/nothere:1\n", "", []string{"FROM 127.0.0.1:1/nothere:1"}},
		{"failing RUN after a good one", "FROM busybox\nRUN echo ok > /ok\nRUN false\n", "", []string{"Dockerfile:3", "exit code: 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tag := "bad/" + strings.ReplaceAll(tc.name, " ", "-") + ":1"
			_, out, err := f.build(map[string]string{"Dockerfile": tc.dockerfile}, BuildRequest{Tags: []string{tag}, Target: tc.target})
			if err == nil {
				t.Fatalf("build succeeded:\n%s", out)
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, err := f.r.images.Get(tag); !errors.Is(err, image.ErrNotFound) {
				t.Errorf("%s is tagged after a failed build (%v)", tag, err)
			}
			f.assertNothingLeft()
		})
	}
}

// BenchmarkBuild measures appFiles' build with every step run (uncached,
// --no-cache) and from the cache (a rebuild of an unchanged context).
func BenchmarkBuild(b *testing.B) {
	f := newBuildFixture(b)
	req := BuildRequest{Tags: []string{"bench/app:1"}}
	if _, out, err := f.build(appFiles, req); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	for _, bc := range []struct {
		name    string
		noCache bool
	}{{"uncached", true}, {"cached", false}} {
		b.Run(bc.name, func(b *testing.B) {
			req := req
			req.NoCache = bc.noCache
			for b.Loop() {
				if _, out, err := f.build(appFiles, req); err != nil {
					b.Fatalf("build: %v\n%s", err, out)
				}
			}
		})
	}
}

// TestBuildFilesystemSteps: ADD of a local tar extracts it, a directory
// removed and made again hides what the image had (an opaque directory),
// a deleted file stays deleted (a whiteout), RUN runs as USER with the
// stage's ARGs, exec and shell forms of RUN and ENTRYPOINT, a symlink in
// the image does not lead COPY out of the rootfs.
func TestBuildFilesystemSteps(t *testing.T) {
	f := newBuildFixture(t)
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	for _, e := range []struct{ name, body string }{{"pkg/a.txt", "from the archive\n"}, {"pkg/sub/b.txt", "nested\n"}} {
		tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o640, Size: int64(len(e.body)), Uid: 65534, Gid: 65534, Typeflag: tar.TypeReg})
		tw.Write([]byte(e.body))
	}
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(archive.Bytes())
	zw.Close()
	files := map[string]string{
		"Dockerfile": `FROM busybox
ARG FLAVOUR=plain
ADD pkg.tar.gz /opt/
COPY note.txt /data/old.txt
RUN rm -rf /data && mkdir /data && echo only > /data/only && ln -s /etc /escape
COPY note.txt /escape/
RUN ["/bin/sh", "-c", "echo exec-form $FLAVOUR > /flavour"]
USER 65534:65534
RUN id -u > /tmp/runas
WORKDIR /srv/work
RUN touch made-by-user
USER root
RUN rm /bin/vi
ENTRYPOINT echo entry; cat /opt/pkg/a.txt /opt/pkg/sub/b.txt; stat -c '%u %a' /opt/pkg/a.txt; ls /data; cat /escape/note.txt /flavour /tmp/runas; stat -c '%u %n' /srv/work /srv/work/made-by-user; test -e /bin/vi && echo vi || echo novi
`,
		"pkg.tar.gz": gz.String(),
		"note.txt":   "note\n",
	}
	img, out, err := f.build(files, BuildRequest{Tags: []string{"fs:1"}, BuildArgs: map[string]string{"FLAVOUR": "spicy"}})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f.assertNothingLeft()
	got, code := f.runImage(img.ID)
	want := "entry\nfrom the archive\nnested\n65534 640\nonly\nnote\nexec-form spicy\n65534\n65534 /srv/work\n65534 /srv/work/made-by-user\nnovi\n"
	if got != want || code != 0 {
		t.Errorf("container printed (exit %d)\n%s\nwant\n%s", code, got, want)
	}
	if _, err := os.Stat("/note.txt"); err == nil {
		t.Errorf("COPY through the image's /escape symlink wrote to the host's /")
	}
}

// TestBuildCancelled: a build whose caller goes away while a RUN runs
// stops, and leaves no container, sandbox or mount.
func TestBuildCancelled(t *testing.T) {
	f := newBuildFixture(t)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	var tarball bytes.Buffer
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), nil, 0o644)
	if err := build.WriteContext(dir, &tarball); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := f.r.Build(ctx, BuildRequest{Tags: []string{"cancelled:1"}, Dockerfile: []byte("FROM busybox\nRUN echo started && sleep 600\n")}, &tarball, pw)
		pw.Close()
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if sc.Text() == "started" {
			cancel()
		}
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a cancelled build succeeded")
		}
	case <-time.After(time.Minute):
		t.Fatal("the build did not stop within a minute of its cancellation")
	}
	f.assertNothingLeft()
	if _, err := f.r.images.Get("cancelled:1"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("cancelled:1 is tagged after a cancelled build (%v)", err)
	}
}

// TestBuildLeftoversRemovedAtStart: what a build the runtime's crash
// interrupted left (its sandbox, a mounted rootfs, its directory) is gone
// when the runtime starts again.
func TestBuildLeftoversRemovedAtStart(t *testing.T) {
	f := newBuildFixture(t)
	b := &builder{r: f.r, store: f.r.images.(buildStore), dir: filepath.Join(f.r.buildDir("tmp"), "build-crashed"), id: "build-crashed", out: io.Discard}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.sandbox(f.ctx); err != nil {
		t.Fatal(err)
	}
	img, err := f.r.images.Get("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := b.mountImage(f.ctx, img.ID); err != nil {
		t.Fatal(err)
	}
	b.cleanups = nil // the crash: nothing cleans up
	if len(f.mounts()) == 0 {
		t.Fatal("the fixture's build has no mount")
	}
	f.r.Close()
	r, err := New(f.ctx, f.opts)
	if err != nil {
		t.Fatalf("New after the crash: %v", err)
	}
	f.r = r
	f.assertNothingLeft()
	if keys := r.images.(interface{ RootfsKeys() []string }).RootfsKeys(); len(keys) != 0 {
		t.Errorf("writable layers left: %v", keys)
	}
}

// TestBuildFromScratch: the usual last stage, FROM scratch with a binary
// copied out of an earlier stage, runs.
func TestBuildFromScratch(t *testing.T) {
	f := newBuildFixture(t)
	files := map[string]string{"Dockerfile": `FROM busybox AS tools
RUN mkdir /out && cp /bin/busybox /out/busybox
FROM scratch
COPY --from=tools /out/busybox /busybox
ENTRYPOINT ["/busybox", "echo"]
CMD ["from", "scratch"]
`}
	img, out, err := f.build(files, BuildRequest{Tags: []string{"scratch-app:1"}})
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	f.assertNothingLeft()
	if got, code := f.runImage(img.ID); got != "from scratch\n" || code != 0 {
		t.Errorf("container printed %q (exit %d)", got, code)
	}
}
