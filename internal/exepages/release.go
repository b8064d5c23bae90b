package exepages

import (
	"fmt"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// Release returns the heap's garbage to the system and unmaps the pages
// of this program's own executable that are clean (never written: code
// and read-only data), so that they fault back in only when used again.
// Call it once start-up is done; TrimWhenIdle calls it after bursts of
// work.
//
// One binary carries every role, kubectl included, and Go runs every
// package's initialisation at start: a server, a runtime or a node touches
// tens of MiB of code and data that only kubectl needs, and they would
// stay mapped (and count as its resident memory) for the life of the
// process. The pages stay in the page cache; what the process uses
// afterwards comes back at the next access, a few pages at a time: the
// page cache's large folios are split first (see splitLargeFolios) and
// huge pages are disabled for the executable's mappings. Mappings with
// any private copy of a page (written to) are left alone; pages still
// dirty in the page cache (a binary just written, until its writeback)
// are not: unmapped, they stay in the cache.
func Release() (released int64, err error) {
	// Start-up garbage (schemes, certificates, the first lists) goes back
	// to the system too.
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	maps, err := readExeMappings("/proc/self/smaps", exe)
	if err != nil {
		return 0, err
	}
	for _, m := range maps {
		if m.writable || m.anon > 0 || m.rss == 0 {
			continue
		}
		if err := releaseMapping(m); err != nil {
			return released, err
		}
		released += m.rss
	}
	return released, nil
}

// releaseMapping unmaps m's pages, which fault back in a few at a time.
func releaseMapping(m exeMapping) error {
	// Without this the kernel may map the executable with 2 MiB pages
	// (and khugepaged may collapse it into them again). Per mapping, not
	// for the process (PR_SET_THP_DISABLE): that one is inherited, and
	// every container a runtime started after it would have run without
	// huge pages.
	if err := madvise(m.start, m.end-m.start, unix.MADV_NOHUGEPAGE); err != nil {
		return fmt.Errorf("no huge pages for %x-%x: %w", m.start, m.end, err)
	}
	splitLargeFolios(m)
	if err := madvise(m.start, m.end-m.start, unix.MADV_DONTNEED); err != nil {
		return fmt.Errorf("release %x-%x: %w", m.start, m.end, err)
	}
	return nil
}

// foliosSplitEvery is how far apart splitLargeFolios touches a mapping:
// the kernel's default fault-around window. A smaller folio costs no
// more than what fault-around maps with any page anyway.
const foliosSplitEvery = 64 << 10

// splitLargeFolios has the kernel split the page cache's large folios
// under m into single pages, where this process alone maps them.
//
// Linux (6.18 here) keeps a file's page cache in folios of up to 2 MiB
// (readahead grows them so; a binary Go's linker just wrote is mostly
// 2 MiB folios) and maps a whole folio when any page of it faults in:
// the released pages came straight back, 2 MiB for the first
// instruction run in each, and the idle API server's executable stayed
// at 50-100 MiB resident where a few MiB were in use. MADV_COLD over
// part of a large folio splits it (a small folio is only marked
// inactive), so it is asked for one page every foliosSplitEvery bytes of
// the file. The data stays in the page cache: nothing is read again.
// Where the kernel cannot split (a folio another process maps too, or a
// kernel without large folios) the folio is left as it is.
func splitLargeFolios(m exeMapping) {
	page := uintptr(os.Getpagesize())
	first := (m.offset + foliosSplitEvery - 1) / foliosSplitEvery * foliosSplitEvery
	for off := first; off < m.offset+(m.end-m.start); off += foliosSplitEvery {
		if madvise(m.start+(off-m.offset), page, unix.MADV_COLD) != nil {
			return
		}
	}
}

func madvise(addr, length uintptr, advice int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, length, uintptr(advice)); errno != 0 {
		return errno
	}
	return nil
}

// readExeMappings reads the mappings of exe from an smaps file.
func readExeMappings(path, exe string) ([]exeMapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseExeMappings(f, exe)
}
