package cri

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/build"
	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
	"github.com/kemudi/kemudi/internal/testimages"
)

// buildFixture is a runtime of its own (its root, state dir, supervisor
// and cgroup parent) with the busybox image imported. Its cleanup checks
// that no sandbox, container or mount was left, then stops everything.
type buildFixture struct {
	tb   testing.TB
	r    *Runtime
	dir  string
	cg   string
	ctx  context.Context
	opts Options
}

func newBuildFixture(tb testing.TB) *buildFixture {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: builds with real containers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	tb.Cleanup(cancel)
	dir := tb.TempDir()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name())
	f := &buildFixture{tb: tb, dir: dir, ctx: ctx, cg: fmt.Sprintf("/kemudi-buildtest-%d-%s", os.Getpid(), name)}
	f.opts = Options{
		Root: filepath.Join(dir, "root"), StateDir: filepath.Join(dir, "state"), CgroupParent: f.cg,
		SupervisorBinary: supervisortest.Binary(tb),
		Log:              slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	r, err := New(ctx, f.opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	f.r = r
	tb.Cleanup(f.cleanup)
	bb, err := testimages.Busybox()
	if err != nil {
		tb.Fatal(err)
	}
	var archive bytes.Buffer
	if err := testimages.DockerArchive(&archive, map[string]v1.Image{"busybox:latest": bb}); err != nil {
		tb.Fatal(err)
	}
	if _, err := r.ImportImage(ctx, &archive); err != nil {
		tb.Fatalf("import busybox: %v", err)
	}
	return f
}

func (f *buildFixture) cleanup() {
	tb := f.tb
	ctx := context.Background()
	if sbs, err := f.r.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{}); err == nil {
		for _, sb := range sbs.GetItems() {
			f.r.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.GetId()})
			f.r.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.GetId()})
		}
	}
	// The runtime first: while it follows the supervisor's events it
	// starts a supervisor again when the one it follows goes away.
	f.r.Close()
	if sup, ok := f.r.supervisor.(*supervisor.Client); ok {
		if err := sup.Shutdown(ctx); err != nil {
			tb.Errorf("cleanup: supervisor shutdown: %v", err)
		}
	}
	f.waitProcessesGone()
	for _, m := range f.mounts() {
		image.Unmount(m)
	}
	if err := supervisortest.RemoveCgroupTree(f.cg); err != nil {
		tb.Errorf("cleanup: cgroups: %v", err)
	}
}

// waitProcessesGone waits for the supervisor and its keeper to exit: they
// write their logs under the fixture's directory until they do, and the
// test's temp dir cannot be removed while they write (seen as "unlinkat
// …/root: directory not empty"). What is still there after the deadline is
// killed and reported.
func (f *buildFixture) waitProcessesGone() {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := harness.ProcessesMentioning(f.dir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			f.tb.Errorf("cleanup: processes %v still running in %s 10s after the supervisor's shutdown", pids, f.dir)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mounts are the mount points under the fixture's directory.
func (f *buildFixture) mounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		f.tb.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if fs := strings.Fields(l); len(fs) > 4 && strings.HasPrefix(fs[4], f.dir) {
			out = append(out, fs[4])
		}
	}
	return out
}

// assertNothingLeft checks that a build left no sandbox, container,
// mount or build directory behind.
func (f *buildFixture) assertNothingLeft() {
	f.tb.Helper()
	sbs, err := f.r.ListPodSandbox(f.ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		f.tb.Fatal(err)
	}
	if n := len(sbs.GetItems()); n != 0 {
		f.tb.Errorf("%d sandboxes left after the build", n)
	}
	cs, err := f.r.ListContainers(f.ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		f.tb.Fatal(err)
	}
	if n := len(cs.GetContainers()); n != 0 {
		f.tb.Errorf("%d containers left after the build", n)
	}
	if m := f.mounts(); len(m) != 0 {
		f.tb.Errorf("mounts left after the build: %v", m)
	}
	if ents, _ := os.ReadDir(f.r.buildDir("tmp")); len(ents) != 0 {
		f.tb.Errorf("build directories left: %d", len(ents))
	}
}

// build builds files (a context; "Dockerfile" among them) with req.
func (f *buildFixture) build(files map[string]string, req BuildRequest) (image.Image, string, error) {
	f.tb.Helper()
	dir := f.tb.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.tb.Fatal(err)
		}
	}
	req.Dockerfile = []byte(files["Dockerfile"])
	var tarball bytes.Buffer
	if err := build.WriteContext(dir, &tarball); err != nil {
		f.tb.Fatal(err)
	}
	var out bytes.Buffer
	img, err := f.r.Build(f.ctx, req, &tarball, &out)
	return img, out.String(), err
}

// runImage runs a container of imageID (its own CMD) on the node's
// network and returns its output and exit code.
func (f *buildFixture) runImage(imageID string) (string, int32) {
	f.tb.Helper()
	logDir := f.tb.TempDir()
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "check", Uid: "check-uid", Namespace: "test"},
		LogDirectory: logDir,
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	sb, err := f.r.RunPodSandbox(f.ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
	if err != nil {
		f.tb.Fatalf("RunPodSandbox: %v", err)
	}
	defer func() {
		f.r.StopPodSandbox(f.ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.GetPodSandboxId()})
		f.r.RemovePodSandbox(f.ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.GetPodSandboxId()})
	}()
	c, err := f.r.CreateContainer(f.ctx, &runtimeapi.CreateContainerRequest{
		PodSandboxId: sb.GetPodSandboxId(), SandboxConfig: sbCfg,
		Config: &runtimeapi.ContainerConfig{
			Metadata: &runtimeapi.ContainerMetadata{Name: "app"},
			Image:    &runtimeapi.ImageSpec{Image: imageID},
			LogPath:  "app.log",
		},
	})
	if err != nil {
		f.tb.Fatalf("CreateContainer: %v", err)
	}
	if _, err := f.r.StartContainer(f.ctx, &runtimeapi.StartContainerRequest{ContainerId: c.GetContainerId()}); err != nil {
		f.tb.Fatalf("StartContainer: %v", err)
	}
	var out bytes.Buffer
	tail := &logTail{path: filepath.Join(logDir, "app.log"), out: &out}
	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	if err := f.r.waitContainer(ctx, c.GetContainerId(), func(c container) bool {
		return c.State == runtimeapi.ContainerState_CONTAINER_EXITED
	}); err != nil {
		f.tb.Fatalf("wait for the container: %v", err)
	}
	tail.poll()
	st, err := f.r.containers.get(c.GetContainerId())
	if err != nil {
		f.tb.Fatal(err)
	}
	return out.String(), st.ExitCode
}
