package volume

import (
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
)

// hostPath checks (and for the ...OrCreate types makes) a hostPath volume.
func hostPath(src *corev1.HostPathVolumeSource) (string, error) {
	p := src.Path
	t := corev1.HostPathUnset
	if src.Type != nil {
		t = *src.Type
	}
	fi, err := os.Stat(p)
	exists := err == nil
	mode := func(want os.FileMode, what string) error {
		if !exists {
			return fmt.Errorf("hostPath type check failed: %s is not a %s", p, what)
		}
		if fi.Mode()&os.ModeType != want {
			return fmt.Errorf("hostPath type check failed: %s is not a %s", p, what)
		}
		return nil
	}
	switch t {
	case corev1.HostPathUnset:
		return p, nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return "", fmt.Errorf("create hostPath directory %s: %w", p, err)
			}
			return p, nil
		}
		return p, mode(os.ModeDir, "directory")
	case corev1.HostPathDirectory:
		return p, mode(os.ModeDir, "directory")
	case corev1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return "", fmt.Errorf("create hostPath file %s: %w", p, err)
			}
			return p, f.Close()
		}
		return p, mode(0, "file")
	case corev1.HostPathFile:
		return p, mode(0, "file")
	case corev1.HostPathSocket:
		return p, mode(os.ModeSocket, "socket")
	case corev1.HostPathCharDev:
		return p, mode(os.ModeDevice|os.ModeCharDevice, "character device")
	case corev1.HostPathBlockDev:
		return p, mode(os.ModeDevice, "block device")
	}
	return "", fmt.Errorf("hostPath type %q is not supported", t)
}
