package cri

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/build"
	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/testimages"
)

// tutorialDir is the seed's alifah-Flask folder (test/e2e's copy).
const tutorialDir = "../../test/e2e/testdata/tutorial/alifah-Flask"

// TestBuildTutorial builds the seed's Dockerfile (FROM python:3.11-slim,
// COPY, WORKDIR, RUN pip install, EXPOSE, CMD) on the Python base image
// made from Debian's packages, then again from the cache.
func TestBuildTutorial(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a 65 MB base image")
	}
	f := newBuildFixture(t)
	f.importTutorialBase()
	req := BuildRequest{Tags: []string{"127.0.0.1:5000/alifah/python-flask:1"}}
	img, out := f.buildDir(tutorialDir, req)
	if !strings.Contains(out, "Requirement already satisfied: flask") {
		t.Errorf("pip's output is not in the build's:\n%s", out)
	}
	if !slices.Equal(img.Config.Cmd, []string{"python", "app.py"}) || img.Config.WorkingDir != "/app" || !slices.Equal(img.Config.ExposedPorts, []string{"5000/tcp"}) {
		t.Errorf("config %+v", img.Config)
	}
	f.assertNothingLeft()
	start := time.Now()
	img2, out := f.buildDir(tutorialDir, req)
	t.Logf("cached rebuild took %v", time.Since(start))
	if img2.ID != img.ID || strings.Count(out, "CACHED") != 5 {
		t.Errorf("rebuild: %s (first %s), want 5 steps CACHED:\n%s", img2.ID, img.ID, out)
	}
}

func (f *buildFixture) importTutorialBase() {
	f.tb.Helper()
	archive, err := testimages.PythonFlaskBase(f.ctx)
	if err != nil {
		f.tb.Skipf("no Python base image: %v", err)
	}
	a, err := os.Open(archive)
	if err != nil {
		f.tb.Fatal(err)
	}
	defer a.Close()
	if _, err := f.r.ImportImage(f.ctx, a); err != nil {
		f.tb.Fatalf("import the Python base: %v", err)
	}
}

func (f *buildFixture) buildDir(dir string, req BuildRequest) (image.Image, string) {
	f.tb.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		f.tb.Fatal(err)
	}
	req.Dockerfile = src
	var tarball, out bytes.Buffer
	if err := build.WriteContext(dir, &tarball); err != nil {
		f.tb.Fatal(err)
	}
	img, err := f.r.Build(f.ctx, req, &tarball, &out)
	if err != nil {
		f.tb.Fatalf("build %s: %v\n%s", dir, err, out.String())
	}
	return img, out.String()
}

// BenchmarkBuildTutorial: the seed's Dockerfile built with every step run
// (--no-cache) and from the cache.
func BenchmarkBuildTutorial(b *testing.B) {
	f := newBuildFixture(b)
	f.importTutorialBase()
	req := BuildRequest{Tags: []string{"bench/python-flask:1"}}
	f.buildDir(tutorialDir, req)
	for _, bc := range []struct {
		name    string
		noCache bool
	}{{"uncached", true}, {"cached", false}} {
		b.Run(bc.name, func(b *testing.B) {
			req := req
			req.NoCache = bc.noCache
			for b.Loop() {
				f.buildDir(tutorialDir, req)
			}
		})
	}
}
