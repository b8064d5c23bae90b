package cluster

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// holderOf names the process listening on addr's port in this network
// namespace (" by nginx (pid 812)"), or "" when it cannot tell: a user
// who sees which program holds 6443 knows what to stop.
func holderOf(addr string) string {
	p, err := strconv.ParseUint(port(addr), 10, 16)
	if err != nil {
		return ""
	}
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		for _, ino := range listeningInodes(fh, uint16(p)) {
			inodes[ino] = true
		}
		fh.Close()
	}
	if len(inodes) == 0 {
		return ""
	}
	pid, comm := socketOwner(inodes)
	if pid == 0 {
		return ""
	}
	return fmt.Sprintf(" by %s (pid %d)", comm, pid)
}

// listeningInodes reads /proc/net/tcp{,6}: the socket inodes in state
// LISTEN (0A) on port p.
func listeningInodes(r io.Reader, p uint16) []string {
	var out []string
	want := fmt.Sprintf(":%04X", p)
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], want) {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// socketOwner finds a process with one of the socket inodes open.
func socketOwner(inodes map[string]bool) (int, string) {
	procs, _ := os.ReadDir("/proc")
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", d.Name(), "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", d.Name(), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				comm, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
				return pid, strings.TrimSpace(string(comm))
			}
		}
	}
	return 0, ""
}
