package cluster

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReleaseStartupPages returns start-up's garbage to the system and unmaps the pages of this program's own executable
// that are clean (never written: code and read-only data), so that they
// fault back in only when used again.
//
// One binary carries every role, kubectl included, and Go runs every
// package's initialisation at start: the server touches tens of MiB of
// code and data that only kubectl needs, and they would stay mapped (and
// count as its resident memory) for the life of the process. The pages
// stay in the page cache; what the server uses afterwards comes back at
// the next access, a page (not a huge page) at a time: huge pages are
// disabled for the process. Mappings with any written (dirty) page are
// left alone.
func ReleaseStartupPages() (released int64, err error) {
	// Start-up garbage (schemes, certificates, the first lists) goes back
	// to the system too.
	debug.FreeOSMemory()
	// Without this the kernel maps whole 2 MiB folios of the executable
	// at the first touch of any byte in them.
	if err := unix.Prctl(unix.PR_SET_THP_DISABLE, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("disable huge pages: %w", err)
	}
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	type mapping struct {
		start, end uintptr
		ours       bool
		writable   bool
		dirty      int64
		rss        int64
	}
	var maps []*mapping
	var cur *mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			bounds := strings.SplitN(fields[0], "-", 2)
			start, err1 := strconv.ParseUint(bounds[0], 16, 64)
			end, err2 := strconv.ParseUint(bounds[1], 16, 64)
			if err1 != nil || err2 != nil {
				cur = nil
				continue
			}
			cur = &mapping{start: uintptr(start), end: uintptr(end),
				ours:     len(fields) >= 6 && fields[5] == exe,
				writable: strings.Contains(fields[1], "w")}
			maps = append(maps, cur)
			continue
		}
		if cur == nil || len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "Private_Dirty:", "Shared_Dirty:", "Anonymous:":
			cur.dirty += kb
		case "Rss:":
			cur.rss += kb
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	for _, m := range maps {
		if !m.ours || m.writable || m.dirty > 0 || m.rss == 0 {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("release %x-%x: %w", m.start, m.end, errno)
		}
		released += m.rss * 1024
	}
	return released, nil
}

// crdsSettled is what the API server runs once CRD installs settle: in
// the server process, return their garbage to the system (a forced
// collection, then every free page); the heap had grown to twice what
// the burst held live, and an idle process would keep it. Not in tests,
// where many servers share one process.
func crdsSettled(opts ServerOptions) func() {
	if !opts.ReleaseStartupPages {
		return nil
	}
	return debug.FreeOSMemory
}
