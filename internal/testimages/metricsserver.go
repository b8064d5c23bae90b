package testimages

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MetricsServerVersion is the release of upstream's metrics-server
// (sigs.k8s.io/metrics-server) that tests install on kemudi.
const MetricsServerVersion = "v0.8.0"

// MetricsServerImageName is the image upstream's release manifests name
// (manifests/components/release); a test rewrites it to its registry's.
const MetricsServerImageName = "registry.k8s.io/metrics-server/metrics-server"

const metricsServerModule = "sigs.k8s.io/metrics-server"

// MetricsServerSource is the directory of upstream's metrics-server
// module at MetricsServerVersion in the Go module cache (downloaded from
// the Go module proxy when missing): its manifests/ are what users apply.
func MetricsServerSource(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, goTool(), "mod", "download", "-json", metricsServerModule+"@"+MetricsServerVersion)
	// Outside any module: kemudi's go.mod must not gain it.
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w\n%s", metricsServerModule, MetricsServerVersion, err, stderrOf(err))
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", metricsServerModule, err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", metricsServerModule, MetricsServerVersion, mod.Error)
	}
	return mod.Dir, nil
}

// BuildMetricsServer builds upstream's cmd/metrics-server at
// MetricsServerVersion as a static binary (CGO_ENABLED=0, as upstream's
// Makefile) with the dependency versions of its own go.mod, and returns
// its path. The binary is kept in
// CacheDir()/metrics-server-<version>-<go version>/, so only a machine's
// first run builds it (a few minutes on a busy 2-core machine); concurrent
// callers wait for one build.
func BuildMetricsServer(ctx context.Context) (string, error) {
	dir := filepath.Join(CacheDir(), "metrics-server-"+MetricsServerVersion+"-"+runtime.Version())
	bin := filepath.Join(dir, "metrics-server")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("metrics-server: %w", err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return "", fmt.Errorf("metrics-server: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("metrics-server: %w", err)
	}
	defer os.RemoveAll(tmp)
	// `go install pkg@version` builds in module mode with the module's own
	// go.mod as the main module, outside ours.
	cmd := exec.CommandContext(ctx, goTool(), "install", "-trimpath",
		"-ldflags=-s -w -X k8s.io/client-go/pkg/version.gitVersion="+MetricsServerVersion,
		metricsServerModule+"/cmd/metrics-server@"+MetricsServerVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOOS=linux",
		"GOARCH="+runtime.GOARCH, "GOBIN="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build metrics-server %s: %w\n%s", MetricsServerVersion, err, tail(out, 4096))
	}
	if err := os.Rename(filepath.Join(tmp, "metrics-server"), bin); err != nil {
		return "", fmt.Errorf("metrics-server: %w", err)
	}
	return bin, nil
}

// MetricsServer is upstream's metrics-server image as its Dockerfile
// makes it, FROM scratch in place of distroless/static (which adds only
// CA certificates and /etc/passwd, unused by it): the binary at
// /metrics-server, its Entrypoint, user 65534.
func MetricsServer(ctx context.Context) (v1.Image, error) {
	bin, err := BuildMetricsServer(ctx)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("metrics-server image: %w", err)
	}
	l, err := Layer(File{Path: "metrics-server", Mode: 0o755, Content: string(b)})
	if err != nil {
		return nil, err
	}
	return Image(v1.Config{Entrypoint: []string{"/metrics-server"}, User: "65534"}, l)
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return strings.TrimSpace(string(tail(ee.Stderr, 4096)))
	}
	return ""
}
