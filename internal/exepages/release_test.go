package exepages

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A released mapping of a file comes back a few pages per touch, not a
// page cache folio (up to 2 MiB) at a time. The file is written as Go's
// linker writes a binary (through a shared mapping of a preallocated
// file): on Linux 6.18 readahead has grown to 2 MiB folios some tens
// of MiB into it.
func TestReleaseMappingFaultsBackFewPages(t *testing.T) {
	const size, at = 64 << 20, 56<<20 + 123
	path := filepath.Join(t.TempDir(), "exe")
	writeLikeTheLinker(t, path, size)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	start := uintptr(unsafe.Pointer(&mem[0]))

	var sum byte
	sum += mem[at]
	t.Logf("one touch before the release maps %d KiB", residentKiB(t, start, size))
	for i := 0; i < size; i += os.Getpagesize() {
		sum += mem[i]
	}
	if err := releaseMapping(exeMapping{start: start, end: start + size}); err != nil {
		t.Fatal(err)
	}
	if got := residentKiB(t, start, size); got != 0 {
		t.Errorf("released mapping still has %d KiB resident", got)
	}
	sum += mem[at]
	// The kernel maps up to fault_around_bytes (64 KiB by default) of
	// cached pages with the one that faulted.
	if got := residentKiB(t, start, size); got > 256 {
		t.Errorf("one touch after the release mapped %d KiB, want at most 256", got)
	}
	t.Logf("sum of the bytes read %d", sum)
}

// Release leaves huge pages to the processes started afterwards (a
// runtime's containers): the process-wide switch is inherited, and a
// container that asks for huge pages would not get them.
func TestReleaseLeavesHugePagesToChildren(t *testing.T) {
	if _, err := Release(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "THP_enabled:"); ok && strings.TrimSpace(v) != "1" {
			t.Errorf("after Release, %s: children would start without huge pages", line)
		}
	}
}

// writeLikeTheLinker fills a new file of size bytes through a shared
// writable mapping of it, preallocated.
func writeLikeTheLinker(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, int64(size)); err != nil {
		t.Skipf("fallocate: %v", err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	for i := range mem {
		mem[i] = byte(i)
	}
	if err := unix.Msync(mem, unix.MS_SYNC); err != nil {
		t.Fatal(err)
	}
	if err := unix.Munmap(mem); err != nil {
		t.Fatal(err)
	}
}

// residentKiB counts the pages of [start, start+size) mapped into this
// process, from /proc/self/pagemap's present bit.
func residentKiB(t *testing.T, start uintptr, size int) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := os.Getpagesize()
	buf := make([]byte, size/page*8)
	if _, err := f.ReadAt(buf, int64(start)/int64(page)*8); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; i < len(buf); i += 8 {
		if binary.LittleEndian.Uint64(buf[i:])>>63 == 1 {
			n++
		}
	}
	return n * page / 1024
}
