package csi

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// PluginDir is the directory name of CSI volumes in a pod's volumes
// directory, as upstream's (kubernetes.io~csi).
const PluginDir = "kubernetes.io~csi"

// volDataFile records, next to a mount, which driver and volume it is,
// so the kubelet can undo it after a restart (upstream's vol_data.json).
const volDataFile = "vol_data.json"

// targetPath is where a pod's CSI volume is published:
// <root>/pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount.
func targetPath(root, uid, pv string) string {
	return filepath.Join(root, "pods", uid, "volumes", PluginDir, pv, "mount")
}

// stagingPath is where a volume is staged once for the node (upstream's
// global mount path):
// <root>/plugins/kubernetes.io/csi/<driver>/<sha256 of the handle>/globalmount.
func stagingPath(root, driver, handle string) string {
	return filepath.Join(root, "plugins", "kubernetes.io", "csi", driver, fmt.Sprintf("%x", sha256.Sum256([]byte(handle))), "globalmount")
}

// volData is what vol_data.json holds, with upstream's keys.
type volData struct {
	SpecVolID     string `json:"specVolID"`
	VolumeHandle  string `json:"volumeHandle"`
	DriverName    string `json:"driverName"`
	NodeName      string `json:"nodeName"`
	AttachmentID  string `json:"attachmentID,omitempty"`
	LifecycleMode string `json:"volumeLifecycleMode,omitempty"`
}

// writeVolData writes vol_data.json beside the mount dir.
func writeVolData(mountDir string, d volData) error {
	dir := filepath.Dir(mountDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, volDataFile), b, 0o640); err != nil {
		return fmt.Errorf("save volume data: %w", err)
	}
	return nil
}

// readVolData reads the vol_data.json beside mountDir; ok is false when
// there is none.
func readVolData(mountDir string) (volData, bool, error) {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(mountDir), volDataFile))
	if os.IsNotExist(err) {
		return volData{}, false, nil
	}
	if err != nil {
		return volData{}, false, err
	}
	var d volData
	if err := json.Unmarshal(b, &d); err != nil {
		return volData{}, false, fmt.Errorf("parse %s: %w", filepath.Join(filepath.Dir(mountDir), volDataFile), err)
	}
	return d, true, nil
}

// podVolumes are the CSI volumes published (or being published) into
// the pod's directory, by mount dir.
func podVolumes(root, uid string) (map[string]volData, error) {
	return volDataBeside(filepath.Join(root, "pods", uid, "volumes", PluginDir, "*", volDataFile), "mount")
}

// volDataBeside reads the vol_data.json files the pattern finds, by the
// mount dir (named mount) beside each.
func volDataBeside(pattern, mount string) (map[string]volData, error) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	out := map[string]volData{}
	for _, f := range files {
		dir := filepath.Join(filepath.Dir(f), mount)
		d, ok, err := readVolData(dir)
		if err != nil {
			return nil, err
		}
		if ok {
			out[dir] = d
		}
	}
	return out, nil
}

// usedByPods reports whether any pod's directory still has the volume.
func usedByPods(root, driver, handle string) (bool, error) {
	all, err := podVolumes(root, "*")
	if err != nil {
		return false, err
	}
	for _, d := range all {
		if d.DriverName == driver && d.VolumeHandle == handle {
			return true, nil
		}
	}
	return false, nil
}

// staged are the volumes staged on the node (their vol_data.json
// beside the global mount dir), by global mount dir.
func staged(root string) (map[string]volData, error) {
	return volDataBeside(filepath.Join(root, "plugins", "kubernetes.io", "csi", "*", "*", volDataFile), "globalmount")
}
