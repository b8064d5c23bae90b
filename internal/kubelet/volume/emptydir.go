package volume

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// emptyDir makes the directory, on a tmpfs for medium Memory (sized by
// sizeLimit when given).
func emptyDir(dir string, src *corev1.EmptyDirVolumeSource) (string, error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("make emptyDir %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return "", err
	}
	if src.Medium != corev1.StorageMediumMemory || isMountpoint(dir) {
		return dir, nil
	}
	opts := "mode=0777"
	if src.SizeLimit != nil && !src.SizeLimit.IsZero() {
		opts += fmt.Sprintf(",size=%d", src.SizeLimit.Value())
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return "", fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return dir, nil
}

// isMountpoint: dir is on another device than its parent.
func isMountpoint(dir string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(dir, &a) != nil || unix.Lstat(dir+"/..", &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}
