package volume

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/types"
)

// TearDown unmounts and removes everything of the pod. Whatever is
// mounted under the pod's directory (an emptyDir's tmpfs, or a bind
// mount someone left) is unmounted first, and the directory is removed
// only when nothing is mounted there any more: removing it must never
// reach into a persistent volume's data.
func (m *Manager) TearDown(uid types.UID) error {
	// CSI volumes first: until they are unpublished they stay in
	// volumesInUse, and the driver, not this kubelet, unmounts them.
	if err := m.tearDownCSI(uid); err != nil {
		return err
	}
	prefix := string(uid) + "/"
	m.mu.Lock()
	deletePrefix(m.tokens, prefix)
	deletePrefix(m.owned, prefix)
	deletePrefix(m.pvs, prefix)
	m.mu.Unlock()
	dir := m.PodDir(uid)
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return nil
	}
	if err := unmountUnder(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove pod dir %s: %w", dir, err)
	}
	return nil
}

// Release unpublishes (and unstages) the CSI volumes of a pod that
// ended, as upstream unmounts a terminated pod's volumes: its disks can
// then be detached while the pod object stays. Its other volumes stay
// until the pod is removed.
func (m *Manager) Release(uid types.UID) error {
	if m.csi == nil {
		return nil
	}
	if err := m.tearDownCSI(uid); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, pv := range m.pvs {
		if strings.HasPrefix(k, string(uid)+"/") && pv.Spec.CSI != nil {
			delete(m.pvs, k)
		}
	}
	return nil
}

// tearDownCSI unpublishes (and unstages) the pod's CSI volumes, if
// the manager mounts any; the mounter bounds its calls to the driver.
func (m *Manager) tearDownCSI(uid types.UID) error {
	if m.csi == nil {
		return nil
	}
	return m.csi.TearDown(context.Background(), string(uid))
}

// unmountUnder unmounts every mount at or below dir, deepest first, and
// fails if any is still there after.
func unmountUnder(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", dir, err)
	}
	for range 3 {
		mps, err := MountsUnder(real)
		if err != nil {
			return err
		}
		if len(mps) == 0 {
			return nil
		}
		for _, mp := range mps {
			if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
				return fmt.Errorf("unmount %s: %w", mp, err)
			}
		}
	}
	return fmt.Errorf("volumes still mounted under %s: not removing it", dir)
}

// MountsUnder lists the mount points at or below dir, deepest first.
func MountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out), nil
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// deletePrefix forgets a pod's entries (keyed <pod uid>/...).
func deletePrefix[V any](m map[string]V, prefix string) {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			delete(m, k)
		}
	}
}
