package cri

import (
	"context"
	"fmt"
	"os"
	"syscall"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// reconcile makes the loaded records agree with what exists after a
// restart or crash: containers that exited while the runtime was away get
// their exit, containers the supervisor lost become UNKNOWN, containers
// without a record (a crash between two steps) are removed, and sandboxes
// whose network namespace is gone are NOTREADY; the network releases what
// belonged to sandboxes that no longer exist.
func (r *Runtime) reconcile(ctx context.Context) error {
	states, err := r.supervisor.List(ctx)
	if err != nil {
		return fmt.Errorf("list supervisor containers: %w", err)
	}
	known := map[string]supervisor.State{}
	for _, st := range states {
		known[st.ID] = st
	}
	for _, c := range r.containers.list() {
		st, ok := known[c.ID]
		delete(known, c.ID)
		if _, err := r.containers.update(c.ID, func(c *container) error {
			if ok {
				mergeState(c, st)
			} else if c.State != runtimeapi.ContainerState_CONTAINER_EXITED {
				c.State = runtimeapi.ContainerState_CONTAINER_UNKNOWN
				c.Reason, c.Message = "Unknown", "the supervisor no longer knows this container"
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for id := range known {
		r.log.Info("removing a container the runtime has no record of", "id", id)
		r.removeOrphan(ctx, id)
	}
	r.removeStrayContainerDirs()
	var live []string
	for _, sb := range r.sandboxes.list() {
		if sb.State != runtimeapi.PodSandboxState_SANDBOX_READY {
			r.logErr("unmount shm", unmountSandboxShm(sb)) // a crash inside StopPodSandbox
			continue
		}
		if sb.NetNS != "" {
			if _, err := os.Stat(sb.NetNS); err != nil {
				r.log.Info("sandbox lost its network namespace", "id", sb.ID)
				if _, err := r.sandboxes.update(sb.ID, func(s *sandbox) error {
					s.State = runtimeapi.PodSandboxState_SANDBOX_NOTREADY
					return nil
				}); err != nil {
					return err
				}
				continue
			}
		}
		live = append(live, sb.ID)
	}
	if err := r.network.Reconcile(ctx, live); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}

// removeOrphan ends and deletes a supervisor container without a record,
// and its root filesystem.
func (r *Runtime) removeOrphan(ctx context.Context, id string) {
	if err := r.supervisor.Signal(ctx, id, syscall.SIGKILL); err != nil {
		r.log.Debug("kill orphan", "id", id, "err", err)
	}
	if err := r.supervisor.Delete(ctx, id); err != nil {
		r.log.Warn("delete orphan container", "id", id, "err", err)
	}
	c := container{ID: id}
	if err := image.Unmount(containerRootfs(r.containers.recordDir(id))); err != nil {
		r.log.Warn("unmount orphan rootfs", "id", id, "err", err)
	}
	if err := r.images.RemoveRootfs(c.rootfsKey()); err != nil {
		r.log.Warn("remove orphan rootfs", "id", id, "err", err)
	}
	if err := r.removeImageVolumes(id, r.containers.recordDir(id)); err != nil {
		r.log.Warn("remove orphan image volumes", "id", id, "err", err)
	}
}

// removeStrayContainerDirs removes container directories whose record was
// never written (a crash inside CreateContainer).
func (r *Runtime) removeStrayContainerDirs() {
	entries, err := os.ReadDir(r.containers.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if _, err := r.containers.get(e.Name()); err == nil {
			continue
		}
		dir := r.containers.recordDir(e.Name())
		if err := image.Unmount(containerRootfs(dir)); err != nil {
			r.log.Warn("unmount stray rootfs", "dir", dir, "err", err)
			continue
		}
		c := container{ID: e.Name()}
		_ = r.images.RemoveRootfs(c.rootfsKey())
		if err := r.removeImageVolumes(c.ID, dir); err != nil {
			r.log.Warn("remove stray image volumes", "dir", dir, "err", err)
			continue
		}
		if err := image.RemoveIDMapStage(dir); err != nil {
			r.log.Warn("remove stray idmapped layers", "dir", dir, "err", err)
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			r.log.Warn("remove stray container dir", "dir", dir, "err", err)
		}
	}
}
