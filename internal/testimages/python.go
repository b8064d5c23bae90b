package testimages

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// PythonBaseRef is the tag of the image PythonFlaskBase makes, named like
// the official image a tutorial's Dockerfile starts FROM (bookworm and
// Python 3.11, as docker.io/library/python:3.11-slim is).
const PythonBaseRef = "python:3.11-slim"

// The inputs of the Python base image; a change to any of them makes a new
// image (they are its cache key).
const (
	pythonSuite  = "bookworm"
	pythonMirror = "http://deb.debian.org/debian"
	// python-is-python3: the official image has /usr/bin/python, and
	// tutorials run "python app.py". python3-pip: "pip install -r
	// requirements.txt" finds flask already installed.
	pythonPackages = "python3-flask,python3-pip,python-is-python3,ca-certificates"
	// Bumped when the way the rootfs becomes an image changes.
	pythonFormat = "2"
)

// PythonFlaskBase makes, with mmdebstrap from Debian's packages (no image
// registry needed), a Python image with Flask installed: a one-layer image
// tagged PythonBaseRef, Cmd ["python3"], written as a docker-archive
// (docker save's format, what kemudi image import and podman load read).
// It returns the archive's path. The archive is kept in CacheDir, keyed by
// the package list and suite, so only the first run on a machine pays for
// it (about a minute, with the Debian mirror reachable); concurrent callers,
// in this process or others, wait for one build.
//
// Debian marks its Python "externally managed" (PEP 668), so pip would
// refuse any "pip install" as root; the image leaves out
// /usr/lib/python3.*/EXTERNALLY-MANAGED, as the official image (whose
// Python is not Debian's) has none, and "pip install -r requirements.txt"
// then says "Requirement already satisfied: flask".
func PythonFlaskBase(ctx context.Context) (string, error) {
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return "", fmt.Errorf("python base image: %w (apt-get install mmdebstrap)", err)
	}
	dir := CacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("python base image: %w", err)
	}
	out := filepath.Join(dir, "python-flask-base-"+pythonKey()+".tar")
	unlock, err := lockFile(ctx, out+".lock")
	if err != nil {
		return "", fmt.Errorf("python base image: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := buildPythonBase(ctx, out); err != nil {
		return "", fmt.Errorf("python base image: %w", err)
	}
	return out, nil
}

func pythonKey() string {
	h := sha256.Sum256([]byte(strings.Join([]string{pythonSuite, pythonMirror, pythonPackages, pythonFormat, PythonBaseRef}, "\n")))
	return hex.EncodeToString(h[:])[:16]
}

// lockFile takes an exclusive flock on p, waiting until ctx ends.
func lockFile(ctx context.Context, p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		// The waiting goroutine gets the lock when its holder lets go,
		// and drops it at once: its file is closed here.
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", p, ctx.Err())
	}
}

// buildPythonBase runs mmdebstrap to a tar of the root filesystem, turns it
// into a layer and writes the image to out (through a temporary file, so a
// failed build leaves nothing in the cache).
func buildPythonBase(ctx context.Context, out string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(out), "python-base-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs.tar")
	cmd := exec.CommandContext(ctx, "mmdebstrap",
		"--variant=essential",
		"--include="+pythonPackages,
		// Documentation is most of the size and nobody reads it in a container.
		"--dpkgopt=path-exclude=/usr/share/doc/*",
		"--dpkgopt=path-include=/usr/share/doc/*/copyright",
		"--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/info/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*",
		pythonSuite, rootfs, pythonMirror)
	cmd.Stdin = nil
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mmdebstrap: %w\n%s", err, tail(b, 4096))
	}
	layerTar := filepath.Join(tmp, "layer.tar")
	if err := rootfsToLayer(rootfs, layerTar); err != nil {
		return err
	}
	layer, err := tarball.LayerFromFile(layerTar)
	if err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	img, err := Image(v1.Config{
		Cmd: []string{"python3"},
		Env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"LANG=C.UTF-8",
		},
	}, layer)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(PythonBaseRef)
	if err != nil {
		return err
	}
	archive := filepath.Join(tmp, "image.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		return fmt.Errorf("write %s: %w", archive, err)
	}
	return os.Rename(archive, out)
}

// rootfsToLayer copies mmdebstrap's tar to an image layer: names without
// the leading "./", no device nodes (the runtime makes /dev), and no
// EXTERNALLY-MANAGED marker (see PythonFlaskBase).
func rootfsToLayer(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Close()
			return fmt.Errorf("read %s: %w", src, err)
		}
		hdr.Name = cleanTarName(hdr.Name, hdr.Typeflag == tar.TypeDir)
		if hdr.Typeflag == tar.TypeLink {
			hdr.Linkname = cleanTarName(hdr.Linkname, false)
		}
		if skipRootfsEntry(hdr) {
			continue
		}
		if err := tw.WriteHeader(hdr); err != nil {
			out.Close()
			return fmt.Errorf("layer entry %s: %w", hdr.Name, err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			out.Close()
			return fmt.Errorf("layer entry %s: %w", hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func cleanTarName(n string, dir bool) string {
	n = strings.TrimPrefix(path.Clean("/"+n), "/")
	if dir && n != "" {
		n += "/"
	}
	return n
}

func skipRootfsEntry(hdr *tar.Header) bool {
	switch {
	case hdr.Name == "":
		return true // the root itself
	case strings.HasPrefix(hdr.Name, "dev/") && hdr.Name != "dev/":
		return true
	case hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock:
		return true
	}
	ok, _ := path.Match("usr/lib/python3.*/EXTERNALLY-MANAGED", hdr.Name)
	return ok
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
