package testimages

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// StaticGo builds the Go main package in pkgDir with CGO_ENABLED=0 and
// returns a FROM scratch image of it: the binary at /<base of pkgDir>, its
// Entrypoint. Binaries are cached in CacheDir, keyed by a hash of every
// file under pkgDir and the Go version, so the program should import only
// the standard library (a change elsewhere does not rebuild it).
func StaticGo(pkgDir string) (v1.Image, error) {
	bin, err := BuildStaticGo(pkgDir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(pkgDir)
	l, err := Layer(File{Path: name, Mode: 0o755, Content: string(b)})
	if err != nil {
		return nil, err
	}
	return Image(v1.Config{Entrypoint: []string{"/" + name}}, l)
}

// CacheDir is where built test binaries are kept between runs:
// $XDG_CACHE_HOME/kemudi-test, else /var/cache/kemudi-test.
func CacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kemudi-test")
	}
	return "/var/cache/kemudi-test"
}

// BuildStaticGo builds (or finds in CacheDir) the static binary of the
// main package in pkgDir and returns its path.
func BuildStaticGo(pkgDir string) (string, error) {
	dir, err := filepath.Abs(pkgDir)
	if err != nil {
		return "", err
	}
	key, err := sourceHash(dir)
	if err != nil {
		return "", fmt.Errorf("static go %s: %w", pkgDir, err)
	}
	bin := filepath.Join(CacheDir(), filepath.Base(dir)+"-"+key)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		return "", fmt.Errorf("static go: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	cmd := exec.Command(goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build %s: %w\n%s", pkgDir, err, out)
	}
	// Renamed into place whole: concurrent test binaries may build it too.
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	return bin, nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

func sourceHash(dir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", runtime.Version(), runtime.GOARCH)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\n", rel)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
