package kubelet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// subPathOf is a volumeMount's subPath, or its subPathExpr expanded
// with the container's environment; a variable without a value is an
// error, as upstream.
func subPathOf(vm *corev1.VolumeMount, lookup func(string) (string, bool)) (string, error) {
	if vm.SubPathExpr == "" {
		return vm.SubPath, nil
	}
	missing := map[string]bool{}
	out := expand(vm.SubPathExpr, func(name string) (string, bool) {
		v, ok := lookup(name)
		if !ok || v == "" {
			missing[name] = true
		}
		return v, true
	})
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", fmt.Errorf("missing value for %s", strings.Join(names, ", "))
	}
	return out, nil
}

// checkSubPath refuses the subPaths upstream refuses before touching
// the volume: absolute ones and ones with a ".." step.
func checkSubPath(sub string) error {
	if filepath.IsAbs(sub) {
		return fmt.Errorf("error SubPath `%s` must not be an absolute path", sub)
	}
	if slices.Contains(strings.Split(filepath.ToSlash(sub), "/"), "..") {
		return fmt.Errorf("unable to provision SubPath `%s`: must not contain '..'", sub)
	}
	return nil
}

// subPathHost is the host path the runtime mounts for a subPath of the
// volume at volume: made (as a directory with the volume root's mode)
// when missing, and refused when it, through symlinks, lies outside the
// volume, with upstream's messages (which do not show host paths).
func subPathHost(volume, sub, mount, container string) (string, error) {
	base, err := filepath.EvalSymlinks(volume)
	if err != nil {
		return "", fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q", mount, container)
	}
	p := filepath.Join(base, sub)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		if err := mkdirBeneath(base, sub); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("failed to create subPath directory for volumeMount %q of container %q", mount, container)
		}
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil || !within(real, base) {
		return "", fmt.Errorf("failed to prepare subPath for volumeMount %q of container %q", mount, container)
	}
	return real, nil
}

// mkdirBeneath makes the missing directories of sub under base with
// base's mode, following a symlink on the way only where it stays
// under base.
func mkdirBeneath(base, sub string) error {
	fi, err := os.Stat(base)
	if err != nil {
		return err
	}
	cur := base
	for _, part := range strings.Split(filepath.Clean(sub), string(filepath.Separator)) {
		if part == "" || part == "." {
			continue
		}
		next := filepath.Join(cur, part)
		li, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(next, fi.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Chmod(next, fi.Mode()); err != nil {
				return err
			}
		case err != nil:
			return err
		case li.Mode()&os.ModeSymlink != 0:
			if next, err = filepath.EvalSymlinks(next); err != nil {
				return err
			}
			if !within(next, base) {
				return fmt.Errorf("%s is outside of the volume", part)
			}
		case !li.IsDir():
			return fmt.Errorf("%s is not a directory", part)
		}
		cur = next
	}
	return nil
}

// within: p is base or below it (both resolved paths).
func within(p, base string) bool {
	return p == base || strings.HasPrefix(p, strings.TrimSuffix(base, "/")+"/")
}
