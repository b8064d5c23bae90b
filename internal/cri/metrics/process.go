package metrics

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// processFigures count a container's processes, threads and descriptors.
type processFigures struct {
	Processes, Threads, ThreadsMax uint64 // ThreadsMax 0: unlimited
	FDs, Sockets                   uint64
	// OpenFilesSoft is the init's soft RLIMIT_NOFILE; ok false when it
	// could not be read or is unlimited.
	OpenFilesSoft   uint64
	openFilesSoftOK bool
}

// readProcesses counts the cgroup's processes and their open descriptors
// in procRoot (/proc), and reads initPid's limits.
func readProcesses(d cgroupDirs, procRoot string, initPid int) (processFigures, error) {
	var f processFigures
	pids, err := d.procs()
	if err != nil {
		return f, err
	}
	f.Processes = uint64(len(pids))
	// The pids controller counts tasks, that is threads; without it count
	// them in /proc.
	if n, ok := d.value("pids", "pids.current"); ok {
		f.Threads = n
	} else {
		for _, pid := range pids {
			f.Threads += uint64(countEntries(filepath.Join(procRoot, strconv.Itoa(pid), "task")))
		}
	}
	if m, ok := d.value("pids", "pids.max"); ok && m != unlimited {
		f.ThreadsMax = m
	}
	for _, pid := range pids {
		fds, sockets := countFDs(filepath.Join(procRoot, strconv.Itoa(pid), "fd"))
		f.FDs += fds
		f.Sockets += sockets
	}
	if initPid > 0 {
		if b, err := readFile(filepath.Join(procRoot, strconv.Itoa(initPid), "limits")); err == nil {
			f.OpenFilesSoft, f.openFilesSoftOK = parseOpenFilesLimit(b)
		}
	}
	return f, nil
}

func countEntries(dir string) int {
	es, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	return len(es)
}

// countFDs counts the descriptors in a /proc/<pid>/fd directory, and
// those that are sockets (their link reads socket:[inode]). A process
// that exits meanwhile counts what could be read.
func countFDs(dir string) (fds, sockets uint64) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	for _, e := range es {
		fds++
		if t, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(t, "socket:") {
			sockets++
		}
	}
	return fds, sockets
}

// parseOpenFilesLimit finds the soft "Max open files" in a
// /proc/<pid>/limits file: the one ulimit cAdvisor reports.
func parseOpenFilesLimit(b []byte) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		return v, err == nil
	}
	return 0, false
}

func (s *series) processes(f processFigures) {
	s.add("container_processes", gauge, f.Processes)
	s.add("container_threads", gauge, f.Threads)
	s.add("container_threads_max", gauge, f.ThreadsMax)
	s.add("container_file_descriptors", gauge, f.FDs)
	s.add("container_sockets", gauge, f.Sockets)
	// cAdvisor reports -1 for an unlimited one, which the CRI's unsigned
	// values cannot carry: left out then.
	if f.openFilesSoftOK {
		s.add("container_ulimits_soft", gauge, f.OpenFilesSoft, "max_open_files")
	}
}
