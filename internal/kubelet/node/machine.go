package node

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Machine is what the node reports about the machine it runs on.
type Machine struct {
	CPUs            int
	MemoryTotal     int64 // bytes
	MemoryAvailable int64 // bytes
	FsTotal         int64 // bytes of the data dir's filesystem
	FsAvailable     int64
	PIDMax          int64
	PIDsInUse       int64
}

// Info is the node's static description.
type Info struct {
	OSImage, KernelVersion, MachineID, SystemUUID, BootID string
}

// ReadMachine measures the machine; dataDir names the filesystem whose
// size is the node's ephemeral storage.
func ReadMachine(dataDir string) (Machine, error) {
	m := Machine{CPUs: runtime.NumCPU()}
	mem, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return m, fmt.Errorf("read memory: %w", err)
	}
	m.MemoryTotal, m.MemoryAvailable = parseMeminfo(mem)
	if ws, ok := rootWorkingSet(); ok {
		m.MemoryAvailable = max(m.MemoryTotal-ws, 0)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dataDir, &st); err != nil {
		return m, fmt.Errorf("statfs %s: %w", dataDir, err)
	}
	m.FsTotal = int64(st.Blocks) * st.Bsize
	m.FsAvailable = int64(st.Bavail) * st.Bsize
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		m.PIDMax, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err == nil {
				m.PIDsInUse++
			}
		}
	}
	return m, nil
}

// parseMeminfo returns MemTotal and MemAvailable in bytes.
func parseMeminfo(b []byte) (total, available int64) {
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "MemTotal:":
			total = v * 1024
		case "MemAvailable:":
			available = v * 1024
		}
	}
	return total, available
}

// rootWorkingSet is the memory the root cgroup uses less its inactive
// file cache, which upstream's memory.available subtracts from the
// machine's memory (the v1 memory hierarchy's root; v2's root has no
// usage file, and MemAvailable stands in).
func rootWorkingSet() (int64, bool) {
	usage, err := os.ReadFile("/sys/fs/cgroup/memory/memory.usage_in_bytes")
	if err != nil {
		return 0, false
	}
	stat, err := os.ReadFile("/sys/fs/cgroup/memory/memory.stat")
	if err != nil {
		return 0, false
	}
	return workingSet(usage, stat)
}

// workingSet is usage minus memory.stat's total_inactive_file.
func workingSet(usage, stat []byte) (int64, bool) {
	u, err := strconv.ParseInt(strings.TrimSpace(string(usage)), 10, 64)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(stat), "\n") {
		if v, ok := strings.CutPrefix(line, "total_inactive_file "); ok {
			inactive, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, false
			}
			return max(u-inactive, 0), true
		}
	}
	return 0, false
}

// ReadInfo describes the machine's OS.
func ReadInfo() Info {
	var in Info
	in.OSImage = osImage()
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		in.KernelVersion = unix.ByteSliceToString(u.Release[:])
	}
	in.MachineID = readTrim("/etc/machine-id")
	in.SystemUUID = readTrim("/sys/class/dmi/id/product_uuid")
	in.BootID = readTrim("/proc/sys/kernel/random/boot_id")
	return in
}

// osImage is PRETTY_NAME of /etc/os-release, as upstream reports it.
func osImage() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return "Unknown"
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
