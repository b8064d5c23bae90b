package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Hierarchy says where cgroups are mounted: one v2 tree, or a tree per v1
// controller, possibly with a v2 tree beside them ("hybrid", as on
// systemd's default before v2; runc puts containers in both).
type Hierarchy struct {
	// Unified is the v2 tree's mount point, "" when there is none.
	Unified string
	// V1 maps a v1 controller (memory, cpu, cpuacct, pids, blkio,
	// hugetlb) to its tree's mount point; empty on a v2-only host.
	V1 map[string]string
}

// DetectHierarchy reads this process's mounts.
func DetectHierarchy() (Hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Hierarchy{}, fmt.Errorf("cgroup mounts: %w", err)
	}
	defer f.Close()
	return parseCgroupMounts(f)
}

// parseCgroupMounts finds the cgroup trees in a mountinfo file. Only
// mounts of a tree's root count (a bind of a sub-cgroup is not the tree);
// the first mount of each tree wins.
func parseCgroupMounts(r io.Reader) (Hierarchy, error) {
	h := Hierarchy{V1: map[string]string{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// 31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || f[3] != "/" {
			continue
		}
		switch g[0] {
		case "cgroup2":
			if h.Unified == "" {
				h.Unified = unescapeMount(f[4])
			}
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				if _, taken := h.V1[opt]; cgroupController(opt) && !taken {
					h.V1[opt] = unescapeMount(f[4])
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Hierarchy{}, fmt.Errorf("read mountinfo: %w", err)
	}
	return h, nil
}

func cgroupController(opt string) bool {
	switch opt {
	case "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb":
		return true
	}
	return false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupDirs are one cgroup's directories: on v2 one, on v1 one per
// controller, and in hybrid mode the v2 one too (pressure lives there).
type cgroupDirs struct {
	v2      bool
	unified string
	v1      map[string]string
}

// Dirs locates the cgroup at path (as an OCI spec's cgroupsPath names it,
// e.g. /kemudi/<sandbox>/<container>). A v2 host is one whose v2 tree is
// the only one.
func (h Hierarchy) dirs(path string) cgroupDirs {
	d := cgroupDirs{v2: len(h.V1) == 0}
	if h.Unified != "" {
		d.unified = filepath.Join(h.Unified, path)
	}
	if !d.v2 {
		d.v1 = make(map[string]string, len(h.V1))
		for c, m := range h.V1 {
			d.v1[c] = filepath.Join(m, path)
		}
	}
	return d
}

// read reads a file of a v1 controller (on v2: of the one directory).
func (d cgroupDirs) read(controller, name string) ([]byte, error) {
	dir := d.unified
	if !d.v2 {
		dir = d.v1[controller]
	}
	if dir == "" {
		return nil, fmt.Errorf("no %s cgroup: %w", controller, os.ErrNotExist)
	}
	return readFile(filepath.Join(dir, name))
}

// readUnified reads a file of the v2 directory (also in hybrid mode).
func (d cgroupDirs) readUnified(name string) ([]byte, error) {
	if d.unified == "" {
		return nil, fmt.Errorf("no v2 cgroup: %w", os.ErrNotExist)
	}
	return readFile(filepath.Join(d.unified, name))
}

// procs reads the pids of the cgroup's processes (cgroup.procs of the pids
// controller on v1; any v1 tree lists the same processes).
func (d cgroupDirs) procs() ([]int, error) {
	for _, c := range []string{"pids", "memory", "cpu"} {
		b, err := d.read(c, "cgroup.procs")
		if err == nil || d.v2 {
			if err != nil {
				return nil, err
			}
			return parsePids(b)
		}
	}
	return nil, fmt.Errorf("cgroup.procs: %w", os.ErrNotExist)
}

func parsePids(b []byte) ([]int, error) {
	var out []int
	for _, f := range bytes.Fields(b) {
		pid, err := strconv.Atoi(string(f))
		if err != nil {
			return nil, fmt.Errorf("cgroup.procs: %q: %w", f, err)
		}
		out = append(out, pid)
	}
	return out, nil
}
