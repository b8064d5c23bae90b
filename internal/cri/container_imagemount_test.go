package cri

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/testimages"
)

func TestImageSubPath(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"data/deep", "etc-in-image"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "data/file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"to-data": "data", "to-host-etc": "/etc", "to-parent": "../../..", "abs-in-image": "/etc-in-image"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		sub, want, err string
	}{
		{sub: "", want: root},
		{sub: "data", want: root + "/data"},
		{sub: "data/deep/", want: root + "/data/deep"},
		{sub: "to-data", want: root + "/data"},
		// A link that leaves the image (absolute ones count) is refused,
		// as containerd's os.OpenInRoot refuses it: never the host's files.
		{sub: "abs-in-image", err: "path escapes"},
		{sub: "to-parent", err: "path escapes"},
		{sub: "to-host-etc", err: "path escapes"},
		{sub: "../etc", err: "must be a relative path inside the image"},
		{sub: "/etc", err: "must be a relative path inside the image"},
		{sub: "missing", err: "does not exist in the image"},
		{sub: "data/file", err: "is not a directory"},
	} {
		got, err := imageSubPath(root, tc.sub, "image_sub_path")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || grpcCode(err) != "InvalidArgument" {
				t.Errorf("%q: %q, %v; want InvalidArgument %q", tc.sub, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.sub, got, err, tc.want)
		}
	}
}

// A container mounts an image read-only, whole and by a sub path; the
// mount goes with the container. Bad image mounts are refused before
// anything is mounted.
func TestImageVolume(t *testing.T) {
	f := newBuildFixture(t)
	ctx := f.ctx
	tools := mustToolsImage(t, f)
	logDir := t.TempDir()
	sbCfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: "vol", Uid: "vol-uid", Namespace: "test"},
		LogDirectory: logDir,
		Linux: &runtimeapi.LinuxPodSandboxConfig{SecurityContext: &runtimeapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE},
		}},
	}
	sb, err := f.r.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sbCfg})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	create := func(name string, mounts []*runtimeapi.Mount, script string) (string, error) {
		c, err := f.r.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{
			PodSandboxId: sb.GetPodSandboxId(), SandboxConfig: sbCfg,
			Config: &runtimeapi.ContainerConfig{
				Metadata: &runtimeapi.ContainerMetadata{Name: name},
				Image:    &runtimeapi.ImageSpec{Image: "busybox:latest"},
				Command:  []string{"sh", "-c", script},
				LogPath:  name + ".log",
				Mounts:   mounts,
			},
		})
		return c.GetContainerId(), err
	}
	img := &runtimeapi.ImageSpec{Image: tools, UserSpecifiedImage: "tools:1"}

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			mount *runtimeapi.Mount
			code  string
			msg   string
		}{
			{"host path", &runtimeapi.Mount{ContainerPath: "/t", HostPath: "/tmp", Image: img, Readonly: true}, "InvalidArgument", "host_path: must be empty"},
			{"writable", &runtimeapi.Mount{ContainerPath: "/t", Image: img}, "InvalidArgument", "must be read-only"},
			{"no image", &runtimeapi.Mount{ContainerPath: "/t", Image: &runtimeapi.ImageSpec{}, Readonly: true}, "InvalidArgument", "image.image: must not be empty"},
			{"unknown image", &runtimeapi.Mount{ContainerPath: "/t", Image: &runtimeapi.ImageSpec{Image: "nothere:1"}, Readonly: true}, "NotFound", "nothere:1"},
			{"sub path a file", &runtimeapi.Mount{ContainerPath: "/t", Image: img, ImageSubPath: "data/hello", Readonly: true}, "InvalidArgument", "is not a directory"},
			{"sub path outside", &runtimeapi.Mount{ContainerPath: "/t", Image: img, ImageSubPath: "../..", Readonly: true}, "InvalidArgument", "relative path inside the image"},
			{"sub path a link to the host", &runtimeapi.Mount{ContainerPath: "/t", Image: img, ImageSubPath: "host-etc", Readonly: true}, "InvalidArgument", "path escapes"},
		} {
			good := &runtimeapi.Mount{ContainerPath: "/good", Image: img, Readonly: true}
			_, err := create("bad", []*runtimeapi.Mount{good, tc.mount}, "true")
			st, _ := status.FromError(err)
			if st.Code().String() != tc.code || !strings.Contains(st.Message(), tc.msg) || !strings.Contains(st.Message(), "ImageVolumeMountFailed") {
				t.Errorf("%s: %v; want %s with %q", tc.name, err, tc.code, tc.msg)
			}
		}
		if m := imageVolumeMounts(f); len(m) != 0 {
			t.Errorf("refused containers left mounts: %v", m)
		}
	})

	t.Run("prune keeps a mounted image", func(t *testing.T) {
		store := f.r.images.(*image.Store)
		cfg, err := store.ConfigFile("tools:1")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Config.Labels = map[string]string{"copy": "untagged"} // another ID than tools:1
		untagged, err := store.Commit(ctx, "tools:1", nil, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := create("pruned", []*runtimeapi.Mount{{ContainerPath: "/t", Image: &runtimeapi.ImageSpec{Image: untagged.ID}, Readonly: true}}, "true")
		if err != nil {
			t.Fatalf("CreateContainer: %v", err)
		}
		if _, err := f.r.PruneImages(ctx, true); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Get(untagged.ID); err != nil {
			t.Errorf("prune removed an untagged image a container mounts: %v", err)
		}
		if _, err := f.r.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.r.PruneImages(ctx, true); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Get(untagged.ID); err == nil {
			t.Error("prune kept an untagged image nothing uses")
		}
	})

	script := `cat /tools/data/hello; cat /data/hello; ls /data; touch /tools/new 2>&1; touch /data/new 2>&1; exit 0`
	id, err := create("reader", []*runtimeapi.Mount{
		{ContainerPath: "/tools", Image: img, Readonly: true},
		{ContainerPath: "/data", Image: img, ImageSubPath: "data", Readonly: true},
	}, script)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := f.r.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := f.r.waitContainer(wctx, id, func(c container) bool { return c.State == runtimeapi.ContainerState_CONTAINER_EXITED }); err != nil {
		t.Fatalf("wait for the container: %v", err)
	}
	out := readLog(t, filepath.Join(logDir, "reader.log"))
	for _, want := range []string{"from the image\nfrom the image\nhello\n", "touch: /tools/new: Read-only file system", "touch: /data/new: Read-only file system"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	st, err := f.r.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.GetStatus().GetMounts() {
		if m.GetImage().GetImage() != tools || !strings.Contains(m.GetHostPath(), "/"+imageVolumesDir+"/") {
			t.Errorf("status mount %v: want the image and its mount as host_path", m)
		}
	}
	// As containerd: the image can be removed, its files stay while mounted.
	if _, err := f.r.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: "tools:1"}}); err != nil {
		t.Fatalf("RemoveImage while mounted: %v", err)
	}
	if err := f.r.images.(*image.Store).GC(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(st.GetStatus().GetMounts()[1].GetHostPath(), "hello")); err != nil || string(b) != "from the image\n" {
		t.Errorf("the mounted image after RemoveImage: %q, %v", b, err)
	}
	if _, err := f.r.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: id}); err != nil {
		t.Fatal(err)
	}
	if m := imageVolumeMounts(f); len(m) != 0 {
		t.Errorf("mounts left after RemoveContainer: %v", m)
	}
	if _, err := f.r.images.(*image.Store).Rootfs(imageVolumeKey(id, "0")); err == nil {
		t.Error("the image volume's layer record outlived its container")
	}
}

// mustToolsImage imports tools:1, two layers (the upper one overwrites
// data/hello; host-etc links to /etc), and returns its ID.
func mustToolsImage(t *testing.T, f *buildFixture) string {
	t.Helper()
	l1, err := testimages.Layer(testimages.File{Path: "data/hello", Content: "from layer 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := testimages.Layer(
		testimages.File{Path: "data/hello", Content: "from the image\n"},
		testimages.File{Path: "host-etc", Type: tar.TypeSymlink, Link: "/etc"},
	)
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimages.Image(v1.Config{}, l1, l2)
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := testimages.DockerArchive(&archive, map[string]v1.Image{"tools:1": img}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.ImportImage(f.ctx, &archive); err != nil {
		t.Fatal(err)
	}
	st, err := f.r.ImageStatus(f.ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: "tools:1"}})
	if err != nil || st.GetImage() == nil {
		t.Fatalf("tools:1 after import: %v", err)
	}
	return st.GetImage().GetId()
}

func imageVolumeMounts(f *buildFixture) []string {
	var out []string
	for _, m := range f.mounts() {
		if strings.Contains(m, "/"+imageVolumesDir+"/") {
			out = append(out, m)
		}
	}
	return out
}

// readLog is the text of a CRI log file's lines.
func readLog(t *testing.T, path string) string {
	t.Helper()
	var out strings.Builder
	tail := &logTail{path: path, out: &out}
	tail.poll()
	return out.String()
}
