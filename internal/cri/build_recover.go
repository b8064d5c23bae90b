package cri

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// buildLabel marks a build's sandbox.
const buildLabel = "io.kemudi.build"

// removeBuildLeftovers removes what builds that the runtime's crash or
// kill interrupted left: their sandboxes and containers, mounts, writable
// layers and scratch directories. It only logs failures: a leftover must
// not keep the runtime from starting.
func (r *Runtime) removeBuildLeftovers(ctx context.Context) {
	sbs, err := r.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err == nil {
		for _, sb := range sbs.GetItems() {
			if _, ok := sb.GetLabels()[buildLabel]; !ok {
				continue
			}
			r.log.Info("removing the sandbox of an interrupted build", "id", sb.GetId())
			_, err := r.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.GetId()})
			r.logErr("stop build sandbox", err)
			_, err = r.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.GetId()})
			r.logErr("remove build sandbox", err)
		}
	}
	tmp := r.buildDir("tmp")
	dirs, _ := os.ReadDir(tmp)
	for _, d := range dirs {
		sub, _ := os.ReadDir(filepath.Join(tmp, d.Name()))
		for _, e := range sub {
			if strings.HasPrefix(e.Name(), "mnt-") {
				r.logErr("unmount build rootfs", image.Unmount(filepath.Join(tmp, d.Name(), e.Name())))
			}
		}
		r.logErr("remove build directory", os.RemoveAll(filepath.Join(tmp, d.Name())))
	}
	if s, ok := r.images.(interface{ RootfsKeys() []string }); ok {
		for _, k := range s.RootfsKeys() {
			if strings.HasPrefix(k, "build-") {
				r.logErr("remove build rootfs", r.images.RemoveRootfs(k))
			}
		}
	}
}
