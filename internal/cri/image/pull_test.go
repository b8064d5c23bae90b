package image

import (
	"archive/tar"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kemudi/kemudi/internal/testimages"
)

func TestPullByTagAndDigest(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t)
	img := mustImage(t, v1.Config{
		Cmd: []string{"sh"}, Entrypoint: []string{"/entry"}, Env: []string{"A=1"}, User: "1000:1000",
		WorkingDir: "/w", StopSignal: "SIGQUIT", Labels: map[string]string{"l": "v"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}}, Volumes: map[string]struct{}{"/data": {}},
	}, mustLayer(t, F{Path: "hello", Content: "world"}))
	byDigest := mustPush(t, reg, "app:1", img)
	s := newStore(t, Options{})
	ctx := context.Background()

	got, err := s.Pull(ctx, reg.Ref("app:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfgName, _ := img.ConfigName()
	m, _ := img.Manifest()
	want := Image{
		ID:          cfgName.String(),
		RepoTags:    []string{reg.Ref("app:1")},
		RepoDigests: []string{byDigest},
		Size:        uint64(m.Layers[0].Size),
		Config: ImageConfig{
			User: "1000:1000", WorkingDir: "/w", StopSignal: "SIGQUIT", Env: []string{"A=1"},
			Entrypoint: []string{"/entry"}, Cmd: []string{"sh"}, Labels: map[string]string{"l": "v"},
			ExposedPorts: []string{"80/tcp"}, Volumes: []string{"/data"},
		},
	}
	if diff := compareImages(got, want); diff != "" {
		t.Fatal(diff)
	}

	// By digest: the same image, nothing downloaded again matters less
	// than that it resolves; it keeps its tag.
	got2, err := s.Pull(ctx, byDigest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got2.ID != want.ID || !slices.Equal(got2.RepoTags, want.RepoTags) {
		t.Errorf("by digest: %+v", got2)
	}
	for _, ref := range []string{want.ID, strings.TrimPrefix(want.ID, "sha256:")[:12], reg.Ref("app:1"), byDigest} {
		if g, err := s.Get(ref); err != nil || g.ID != want.ID {
			t.Errorf("Get(%q) = %v, %v", ref, g.ID, err)
		}
	}
	if _, err := s.Get(reg.Ref("app:2")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown tag: %v", err)
	}
	if l := s.List(); len(l) != 1 {
		t.Errorf("List has %d images", len(l))
	}

	rootfs, err := s.PrepareRootfs(ctx, "c1", want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rootfs.Lower) != 1 {
		t.Errorf("single-layer rootfs has lowers %v", rootfs.Lower)
	}
	target := mount(t, rootfs)
	if got := readFile(t, filepath.Join(target, "hello")); got != "world" {
		t.Errorf("hello = %q", got)
	}
	if err := os.WriteFile(filepath.Join(target, "new"), make([]byte, 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := s.RootfsUsage("c1")
	if err != nil || u.Bytes < 10000 || u.Inodes < 2 {
		t.Errorf("RootfsUsage = %+v, %v", u, err)
	}
	fi, err := s.FsInfo()
	if err != nil || fi.Mountpoint != s.root || fi.Bytes == 0 || fi.Inodes == 0 {
		t.Errorf("FsInfo = %+v, %v", fi, err)
	}
}

func compareImages(got, want Image) string {
	g, w := got, want
	if g.ID != w.ID || !slices.Equal(g.RepoTags, w.RepoTags) || !slices.Equal(g.RepoDigests, w.RepoDigests) || g.Size != w.Size {
		return "image: got " + fmtImage(g) + "\nwant " + fmtImage(w)
	}
	gc, wc := g.Config, w.Config
	if gc.User != wc.User || gc.WorkingDir != wc.WorkingDir || gc.StopSignal != wc.StopSignal ||
		!slices.Equal(gc.Env, wc.Env) || !slices.Equal(gc.Entrypoint, wc.Entrypoint) || !slices.Equal(gc.Cmd, wc.Cmd) ||
		!slices.Equal(gc.ExposedPorts, wc.ExposedPorts) || !slices.Equal(gc.Volumes, wc.Volumes) || len(gc.Labels) != len(wc.Labels) {
		return "config: got " + fmtImage(g) + "\nwant " + fmtImage(w)
	}
	for k, v := range wc.Labels {
		if gc.Labels[k] != v {
			return "labels differ"
		}
	}
	return ""
}

func fmtImage(i Image) string { return strings.ReplaceAll(strings.TrimSpace(sprint(i)), "\n", " ") }

func TestPullBasicAuth(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t, testimages.BasicAuth("user", "pass"))
	mustPush(t, reg, "private:1", mustImage(t, v1.Config{}, mustLayer(t, F{Path: "f", Content: "x"})))
	ctx := context.Background()

	s := newStore(t, Options{})
	_, err := s.Pull(ctx, reg.Ref("private:1"), nil)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without credentials: %v", err)
	}
	if _, err := s.Pull(ctx, reg.Ref("private:1"), &Auth{Username: "user", Password: "wrong"}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := s.Pull(ctx, reg.Ref("private:1"), &Auth{Username: "user", Password: "pass"}); err != nil {
		t.Fatalf("with credentials: %v", err)
	}

	// The same credentials from registries.yaml.
	cfg := filepath.Join(t.TempDir(), "registries.yaml")
	yaml := "configs:\n  \"" + reg.Host + "\":\n    auth:\n      username: user\n      password: pass\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := newStore(t, Options{RegistryConfig: cfg})
	if _, err := s2.Pull(ctx, reg.Ref("private:1"), nil); err != nil {
		t.Fatalf("with registries.yaml credentials: %v", err)
	}
}

func TestPullMultiArch(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	native := mustImage(t, v1.Config{}, mustLayer(t, F{Path: "arch", Content: runtime.GOARCH}))
	foreign, err := testimages.ImageFor(v1.Platform{OS: "linux", Architecture: other}, v1.Config{}, mustLayer(t, F{Path: "arch", Content: other}))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := testimages.Index(map[string]v1.Image{"linux/" + other: foreign, "linux/" + runtime.GOARCH: native})
	if err != nil {
		t.Fatal(err)
	}
	idxRef, err := reg.PushIndex("multi:1", idx)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, Options{})
	got, err := s.Pull(context.Background(), reg.Ref("multi:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	nativeCfg, _ := native.ConfigName()
	if got.ID != nativeCfg.String() || !slices.Equal(got.RepoDigests, []string{idxRef}) {
		t.Fatalf("got %s %v, want the %s image %s under the index digest %s", got.ID, got.RepoDigests, runtime.GOARCH, nativeCfg, idxRef)
	}
	target := mount(t, mustRootfs(t, s, "c", got.ID))
	if a := readFile(t, filepath.Join(target, "arch")); a != runtime.GOARCH {
		t.Errorf("arch file says %q", a)
	}

	// An index without our platform.
	onlyForeign, _ := testimages.Index(map[string]v1.Image{"linux/" + other: foreign})
	if _, err := reg.PushIndex("foreign:1", onlyForeign); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(context.Background(), reg.Ref("foreign:1"), nil); err == nil || !strings.Contains(err.Error(), "no image for linux/"+runtime.GOARCH) {
		t.Errorf("foreign-only index: %v", err)
	}
}

func mustRootfs(t testing.TB, s *Store, key, id string) Rootfs {
	t.Helper()
	r, err := s.PrepareRootfs(context.Background(), key, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.RemoveRootfs(key) })
	return r
}

func TestWhiteoutsThroughOverlay(t *testing.T) {
	requireRoot(t)
	reg := newRegistry(t)
	base := mustLayer(t,
		F{Path: "a", Content: "a"}, F{Path: "b", Content: "b"},
		F{Path: "d", Type: tar.TypeDir}, F{Path: "d/x", Content: "x"}, F{Path: "d/y", Content: "y"},
		F{Path: "e", Type: tar.TypeDir}, F{Path: "e/keep", Content: "keep"},
	)
	top := mustLayer(t,
		F{Path: ".wh.a"},
		F{Path: "d", Type: tar.TypeDir}, F{Path: "d/.wh..wh..opq"}, F{Path: "d/z", Content: "z"},
		F{Path: "e/new", Content: "new"},
	)
	mustPush(t, reg, "wh:1", mustImage(t, v1.Config{}, base, top))
	s := newStore(t, Options{})
	img, err := s.Pull(context.Background(), reg.Ref("wh:1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	target := mount(t, mustRootfs(t, s, "c", img.ID))
	for _, tc := range []struct {
		dir  string
		want []string
	}{{".", []string{"b", "d", "e"}}, {"d", []string{"z"}}, {"e", []string{"keep", "new"}}} {
		ents, err := os.ReadDir(filepath.Join(target, tc.dir))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("%s has %v, want %v", tc.dir, names, tc.want)
		}
	}
	// Deleting in the container whites out in its upper layer only.
	if err := os.Remove(filepath.Join(target, "b")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target, "b")); !os.IsNotExist(err) {
		t.Errorf("b after remove: %v", err)
	}
}

func TestSharedLayersStoredOnce(t *testing.T) {
	requireRoot(t)
	var log requestLog
	reg := newRegistry(t, log.middleware)
	shared := mustLayer(t, F{Path: "shared", Content: strings.Repeat("s", 100000)})
	a := mustImage(t, v1.Config{}, shared, mustLayer(t, F{Path: "a", Content: "a"}))
	b := mustImage(t, v1.Config{}, shared, mustLayer(t, F{Path: "b", Content: "b"}))
	mustPush(t, reg, "a:1", a)
	mustPush(t, reg, "b:1", b)
	s := newStore(t, Options{})
	for _, r := range []string{"a:1", "b:1"} {
		if _, err := s.Pull(context.Background(), reg.Ref(r), nil); err != nil {
			t.Fatal(err)
		}
	}
	sd := digestOf(t, shared)
	if n := log.blobGets()[sd]; n != 1 {
		t.Errorf("shared layer downloaded %d times", n)
	}
	// Three layers (shared, a, b) are three snapshots.
	if ents, _ := os.ReadDir(s.snapshotsDir()); len(ents) != 3 {
		t.Errorf("%d snapshots, want 3", len(ents))
	}
}

func TestConcurrentPullsDownloadOnce(t *testing.T) {
	requireRoot(t)
	var log requestLog
	reg := newRegistry(t, log.middleware)
	img := mustImage(t, v1.Config{}, mustLayer(t, F{Path: "one", Content: "1"}), mustLayer(t, F{Path: "two", Content: "2"}))
	mustPush(t, reg, "c:1", img)
	s := newStore(t, Options{})
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.Pull(context.Background(), reg.Ref("c:1"), nil)
			ids[i], errs[i] = got.ID, err
		}()
	}
	wg.Wait()
	for i := range 8 {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("pull %d: %s %v", i, ids[i], errs[i])
		}
	}
	layers, _ := img.Layers()
	gets := log.blobGets()
	for _, l := range layers {
		if n := gets[digestOf(t, l)]; n != 1 {
			t.Errorf("layer %s downloaded %d times", digestOf(t, l), n)
		}
	}
}

// TestPullCancelledByOneCaller: a caller that gives up does not fail the
// others waiting for the same pull.
func TestPullCancelledByOneCaller(t *testing.T) {
	requireRoot(t)
	layer := mustLayer(t, F{Path: "slow", Content: "slow"})
	requested := make(chan struct{}, 10)
	release := make(chan struct{})
	gate := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, digestOf(t, layer)) {
				requested <- struct{}{}
				<-release
			}
			next.ServeHTTP(w, req)
		})
	}
	reg := newRegistry(t, gate)
	mustPush(t, reg, "slow:1", mustImage(t, v1.Config{}, layer))
	s := newStore(t, Options{})

	ctxA, cancelA := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() {
		_, err := s.Pull(ctxA, reg.Ref("slow:1"), nil)
		errA <- err
	}()
	<-requested
	errB := make(chan error, 1)
	go func() {
		_, err := s.Pull(context.Background(), reg.Ref("slow:1"), nil)
		errB <- err
	}()
	// Wait until B waits for A's pull.
	key := mustParse(t, reg.Ref("slow:1")).String() + "\x00"
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.pulls.mu.Lock()
		c := s.pulls.calls[key]
		n := 0
		if c != nil {
			n = c.waiters
		}
		s.pulls.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second caller never joined the pull (%d waiting)", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancelA()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v", err)
	}
	close(release)
	if err := <-errB; err != nil {
		t.Errorf("the other caller failed with the first's cancellation: %v", err)
	}
}

func mustParse(t testing.TB, s string) reference {
	t.Helper()
	r, err := parseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
