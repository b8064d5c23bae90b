package cri

import (
	"os"
	"path/filepath"
)

// removeDefaultCgroupParent removes the default cgroup parent (made by
// the first sandbox whose config named no cgroup, such as a build step's
// or crictl's) from every hierarchy when no cgroup is left under it, so
// that a stopped runtime leaves no cgroup behind. A configured parent is
// the caller's and stays.
func (r *Runtime) removeDefaultCgroupParent() {
	if r.opts.CgroupParent != DefaultCgroupParent {
		return
	}
	mounts, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, m := range append(mounts, "/sys/fs/cgroup") {
		// rmdir fails on a cgroup that still has children or processes.
		_ = os.Remove(filepath.Join(m, DefaultCgroupParent))
	}
}
