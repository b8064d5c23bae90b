package csi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"

	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

// TearDown unpublishes the pod's CSI volumes (NodeUnpublishVolume,
// then their directories go) and unstages those no other pod of the
// node uses any more (NodeUnstageVolume). It works from the
// vol_data.json files in the pod's directory, so a kubelet started
// again undoes what it did before. A failure is returned, to be tried
// again; what succeeded is not done twice.
func (m *Mounter) TearDown(ctx context.Context, uid string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	vols, err := podVolumes(m.root, uid)
	if err != nil {
		return fmt.Errorf("list CSI volumes of pod %s: %w", uid, err)
	}
	var errs []error
	for _, target := range slices.Sorted(maps.Keys(vols)) {
		d := vols[target]
		if err := m.unpublish(ctx, d, target); err != nil {
			errs = append(errs, fmt.Errorf("UnmountVolume.TearDown failed for volume %q (UniqueName: %q) pod %q (UID: %q) : %w",
				d.SpecVolID, "kubernetes.io/csi/"+d.DriverName+"^"+d.VolumeHandle, uid, uid, err))
			continue
		}
		m.mu.Lock()
		delete(m.published, uid+"/"+d.SpecVolID)
		m.mu.Unlock()
	}
	return errors.Join(errs...)
}

// unpublish unpublishes one volume of a pod, then unstages it when no
// pod uses it.
func (m *Mounter) unpublish(ctx context.Context, d volData, target string) error {
	dr, ok := m.drivers.Get(d.DriverName)
	if !ok {
		return fmt.Errorf("kubernetes.io/csi: Unmounter.TearDownAt failed to get CSI client: driver name %s not found in the list of registered CSI drivers", d.DriverName)
	}
	c, err := newClient(dr.Endpoint)
	if err != nil {
		return err
	}
	defer c.Close()
	defer m.lock(d.DriverName, d.VolumeHandle)()
	if _, err := c.node.NodeUnpublishVolume(ctx, &csipb.NodeUnpublishVolumeRequest{VolumeId: d.VolumeHandle, TargetPath: target}); err != nil {
		return err
	}
	if err := removeDir(target); err != nil {
		return err
	}
	return m.unstageUnused(ctx, c, d)
}

// unstageUnused unstages the volume if it is staged and no pod's
// directory names it any more.
func (m *Mounter) unstageUnused(ctx context.Context, c *client, d volData) error {
	staging := stagingPath(m.root, d.DriverName, d.VolumeHandle)
	if _, ok, err := readVolData(staging); err != nil || !ok {
		return err
	}
	used, err := usedByPods(m.root, d.DriverName, d.VolumeHandle)
	if err != nil || used {
		return err
	}
	if _, err := c.node.NodeUnstageVolume(ctx, &csipb.NodeUnstageVolumeRequest{VolumeId: d.VolumeHandle, StagingTargetPath: staging}); err != nil {
		return fmt.Errorf("UnmountDevice failed: %w", err)
	}
	if err := removeDir(staging); err != nil {
		return err
	}
	// The driver's directory goes with its last volume.
	_ = os.Remove(filepath.Dir(filepath.Dir(staging)))
	return nil
}

// InUse names the volumes staged or published on the node, read from
// their directories: after a restart too, the node keeps reporting them
// in volumesInUse until they are unpublished and unstaged (upstream
// reconstructs them from the same files), so nothing detaches a volume
// still mounted.
func (m *Mounter) InUse() []corev1.UniqueVolumeName {
	var out []corev1.UniqueVolumeName
	pods, err := podVolumes(m.root, "*")
	if err != nil {
		m.log.Warn("list CSI volumes in use", "err", err)
	}
	st, err := staged(m.root)
	if err != nil {
		m.log.Warn("list staged CSI volumes", "err", err)
	}
	for _, vols := range []map[string]volData{pods, st} {
		for _, d := range vols {
			out = append(out, volumeattachment.UniqueVolumeName(d.DriverName, d.VolumeHandle))
		}
	}
	return out
}
