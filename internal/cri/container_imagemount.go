package cri

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	crierrors "k8s.io/cri-api/pkg/errors"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// Image volumes (a CRI mount with an image): the image's layers are
// mounted read-only under the container's directory, one mount per CRI
// mount, and the container gets a read-only bind of that mount (or of
// its image_sub_path). In a pod's user namespace the overlay is made of
// idmapped layers, as the container's rootfs is, and bound as it is:
// overlayfs cannot be idmapped itself, and its files are already the
// pod root's. Each keeps a writable-layer record in the image
// store, so the layers stay while mounted even if the image is removed
// (as containerd's snapshot lease keeps them); RemoveContainer unmounts
// and drops them.

const imageVolumesDir = "image-volumes"

// imageVolumeKey names mount i's layer record in the image store.
func imageVolumeKey(containerID, i string) string { return "ctr-" + containerID + "-image-" + i }

// mountImageVolumes mounts the images of cfg's image mounts under dir
// and returns cfg with each such mount's host_path set to what the
// container binds (containerd fills host_path the same way), and an
// undo that unmounts what it mounted. cfg itself is not changed.
func (r *Runtime) mountImageVolumes(ctx context.Context, id, dir string, cfg *runtimeapi.ContainerConfig, sb sandbox) (*runtimeapi.ContainerConfig, func(), error) {
	if !hasImageMount(cfg) {
		return cfg, func() {}, nil
	}
	out := proto.Clone(cfg).(*runtimeapi.ContainerConfig)
	undo := func() { r.logErr("remove image volumes", r.removeImageVolumes(id, dir)) }
	for i, m := range out.GetMounts() {
		if m.GetImage() == nil {
			continue
		}
		hostPath, err := r.mountImageVolume(ctx, id, dir, i, m, sb)
		if err != nil {
			undo()
			return nil, nil, fmt.Errorf("%w: %w", crierrors.ErrImageVolumeMountFailed, err)
		}
		m.HostPath = hostPath
	}
	return out, undo, nil
}

func hasImageMount(cfg *runtimeapi.ContainerConfig) bool {
	for _, m := range cfg.GetMounts() {
		if m.GetImage() != nil {
			return true
		}
	}
	return false
}

// mountImageVolume mounts mount i's image and returns the host path the
// container binds.
func (r *Runtime) mountImageVolume(ctx context.Context, id, dir string, i int, m *runtimeapi.Mount, sb sandbox) (string, error) {
	field := "config.mounts[" + strconv.Itoa(i) + "]"
	switch {
	case m.GetImage().GetImage() == "":
		return "", invalidArg(field+".image.image", "must not be empty")
	case m.GetHostPath() != "":
		return "", invalidArg(field+".host_path", "must be empty for an image mount, not %q", m.GetHostPath())
	case !m.GetReadonly():
		return "", invalidArg(field+".readonly", "an image mount must be read-only")
	}
	img, err := r.images.Get(m.GetImage().GetImage())
	if err != nil {
		return "", fmt.Errorf("image %q: %w", m.GetImage().GetImage(), err)
	}
	n := strconv.Itoa(i)
	target := filepath.Join(dir, imageVolumesDir, n)
	if err := os.MkdirAll(target, 0o700); err != nil {
		return "", err
	}
	rootfs, err := r.images.PrepareRootfs(ctx, imageVolumeKey(id, n), img.ID)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", m.GetImage().GetImage(), err)
	}
	if err := mountImageRootfs(rootfs, target, sb); err != nil {
		return "", err
	}
	return imageSubPath(target, m.GetImageSubPath(), field+".image_sub_path")
}

// mountImageRootfs mounts an image volume's overlay at target, in a
// pod's user namespace through idmapped layers.
func mountImageRootfs(rootfs image.Rootfs, target string, sb sandbox) error {
	uid, gid, ok := usernsRoot(sb)
	if !ok {
		return rootfs.MountReadOnly(target)
	}
	return rootfs.MountIDMappedReadOnly(target, sb.UserNS, uid, gid)
}

// imageSubPath is the directory sub inside the mounted image at root,
// with its symbolic links resolved inside root (an image's link to /etc
// must not bind the host's /etc); upstream takes directories only.
func imageSubPath(root, sub, field string) (string, error) {
	if sub == "" {
		return root, nil
	}
	if filepath.IsAbs(sub) || !filepath.IsLocal(sub) {
		return "", invalidArg(field, "%q must be a relative path inside the image", sub)
	}
	f, err := os.OpenInRoot(root, sub)
	if errors.Is(err, fs.ErrNotExist) {
		return "", invalidArg(field, "%q does not exist in the image", sub)
	}
	if err != nil {
		return "", invalidArg(field, "%q: %v", sub, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", invalidArg(field, "%q is not a directory: only directories of an image can be mounted", sub)
	}
	// The opened directory's real path: links resolved as they were, in root.
	real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return "", err
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return "", err
	}
	if real != root && !strings.HasPrefix(real, root+"/") {
		return "", invalidArg(field, "%q leaves the image", sub)
	}
	return real, nil
}

// imageVolumeIDs are the IDs of the images container c mounts (that
// the store still has).
func (r *Runtime) imageVolumeIDs(c container) []string {
	var out []string
	for _, m := range c.Config.GetMounts() {
		if m.GetImage() == nil {
			continue
		}
		if img, err := r.images.Get(m.GetImage().GetImage()); err == nil {
			out = append(out, img.ID)
		}
	}
	return out
}

// removeImageVolumes unmounts and drops every image volume of the
// container whose directory is dir, from what is on disk, so that it
// also serves a container whose record is lost.
func (r *Runtime) removeImageVolumes(id, dir string) error {
	base := filepath.Join(dir, imageVolumesDir)
	// Never through layers a cut-short idmapped mount left attached.
	if err := image.RemoveIDMapStage(base); err != nil {
		return fmt.Errorf("image volumes of container %s: %w", id, err)
	}
	ents, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("image volumes of container %s: %w", id, err)
	}
	for _, e := range ents {
		target := filepath.Join(base, e.Name())
		if err := image.Unmount(target); err != nil {
			return fmt.Errorf("image volume of container %s: %w", id, err)
		}
		if err := r.images.RemoveRootfs(imageVolumeKey(id, e.Name())); err != nil {
			return fmt.Errorf("image volume of container %s: %w", id, err)
		}
		if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("image volume of container %s: %w", id, err)
		}
	}
	return nil
}
