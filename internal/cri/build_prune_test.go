package cri

import (
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestBuildCachePrune: a build's step images are not listed, survive the
// removal of the image (a rebuild is all cache), and a prune gives the
// disk back to what it was before the build.
func TestBuildCachePrune(t *testing.T) {
	f := newBuildFixture(t)
	conn := serveRuntime(t, f.r)
	before := imageDiskUsage(t, f)
	files := map[string]string{
		"Dockerfile": "FROM busybox\nCOPY a.txt /a.txt\nRUN echo hi > /b\nRUN mkdir /c && head -c 300000 /dev/urandom > /c/data\nCMD [\"cat\", \"/b\"]\n",
		"a.txt":      "a\n",
	}
	req := BuildRequest{Tags: []string{"prune:1"}}
	img, out, err := f.build(files, req)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	steps := cacheImageIDs(t, f)
	if len(steps) < 3 {
		t.Fatalf("build cache names %d images, want one per changing step: %v", len(steps), steps)
	}
	assertListed(t, f, "docker.io/library/busybox:latest", "docker.io/library/prune:1")
	for _, id := range steps {
		st, err := f.r.ImageStatus(f.ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: id}})
		if err != nil || st.GetImage().GetId() != id {
			t.Errorf("ImageStatus of step image %s: %v %v", id, st.GetImage(), err)
		}
	}

	// A prune while the tagged image is built on the steps keeps them.
	res, err := PruneImagesOver(f.ctx, conn, false)
	if err != nil || len(res.Images) != 0 || res.CacheEntries != 0 {
		t.Errorf("prune with the image tagged: %+v, %v; want nothing removed", res, err)
	}

	if _, err := f.r.RemoveImage(f.ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: "prune:1"}}); err != nil {
		t.Fatalf("RemoveImage: %v", err)
	}
	assertListed(t, f, "docker.io/library/busybox:latest")
	img2, out, err := f.build(files, req)
	if err != nil {
		t.Fatalf("rebuild after rm: %v\n%s", err, out)
	}
	if img2.ID != img.ID || strings.Count(out, "CACHED") != 4 {
		t.Errorf("rebuild after rm is not all cache (id %s, was %s):\n%s", img2.ID, img.ID, out)
	}
	if _, err := f.r.RemoveImage(f.ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: "prune:1"}}); err != nil {
		t.Fatalf("RemoveImage: %v", err)
	}

	res, err = PruneImagesOver(f.ctx, conn, false)
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	t.Logf("pruned: %+v", res)
	if len(res.Images) < len(steps) || res.CacheEntries < len(steps) || res.Bytes < 300000 {
		t.Errorf("prune freed %+v; want the %d step images, their cache entries and their layers (> 300000 bytes)", res, len(steps))
	}
	if after := imageDiskUsage(t, f); after != before {
		t.Errorf("image store after prune: %+v; before the build: %+v", after, before)
	}
	for _, id := range steps {
		st, err := f.r.ImageStatus(f.ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: id}})
		if err != nil || st.GetImage() != nil {
			t.Errorf("step image %s after prune: %v %v", id, st.GetImage(), err)
		}
	}
	assertListed(t, f, "docker.io/library/busybox:latest")

	img3, out, err := f.build(files, req)
	if err != nil {
		t.Fatalf("build after prune: %v\n%s", err, out)
	}
	if strings.Contains(out, "CACHED") {
		t.Errorf("build after prune used a cache:\n%s", out)
	}
	if got, code := f.runImage(img3.ID); got != "hi\n" || code != 0 {
		t.Errorf("image built after prune printed %q (exit %d)", got, code)
	}

	// --all takes the build cache even of a tagged image, never the image.
	res, err = PruneImagesOver(f.ctx, conn, true)
	if err != nil || len(res.Images) == 0 || res.CacheEntries == 0 {
		t.Errorf("prune --all: %+v, %v; want the step images and cache entries", res, err)
	}
	assertListed(t, f, "docker.io/library/busybox:latest", "docker.io/library/prune:1")
	if got, code := f.runImage(img3.ID); got != "hi\n" || code != 0 {
		t.Errorf("tagged image after prune --all printed %q (exit %d)", got, code)
	}
}

// assertListed: ListImages shows exactly the images with these tags, and
// no untagged one.
func assertListed(t *testing.T, f *buildFixture, tags ...string) {
	t.Helper()
	resp, err := f.r.ListImages(f.ctx, &runtimeapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, img := range resp.GetImages() {
		if len(img.GetRepoTags()) == 0 {
			got = append(got, "<none>:"+img.GetId())
		}
		got = append(got, img.GetRepoTags()...)
	}
	slices.Sort(got)
	slices.Sort(tags)
	if !slices.Equal(got, tags) {
		t.Errorf("ListImages: %v, want %v", got, tags)
	}
}

// cacheImageIDs are the images the build cache's entries name.
func cacheImageIDs(t *testing.T, f *buildFixture) []string {
	t.Helper()
	ents, err := os.ReadDir(f.r.buildDir("cache"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var ids []string
	for _, e := range ents {
		s, ok := (&builder{r: f.r, store: f.r.images.(buildStore)}).cacheGet(strings.TrimSuffix(e.Name(), ".json"))
		if ok && s.ImageID != "" && !seen[s.ImageID] {
			seen[s.ImageID] = true
			ids = append(ids, s.ImageID)
		}
	}
	return ids
}

type diskUsage struct {
	Files int
	Bytes int64
}

// imageDiskUsage counts the image store's blobs and unpacked layers.
func imageDiskUsage(t *testing.T, f *buildFixture) diskUsage {
	t.Helper()
	var u diskUsage
	for _, sub := range []string{"content", "snapshots"} {
		err := filepath.WalkDir(filepath.Join(f.opts.Root, "images", sub), func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			u.Files++
			if fi.Mode().IsRegular() {
				u.Bytes += fi.Size()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// serveRuntime serves r on a socket of its own and returns a client.
func serveRuntime(t *testing.T, r *Runtime) *grpc.ClientConn {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cri.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, l) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return conn
}
