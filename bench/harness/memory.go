package harness

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's memory as /proc/PID/status reports it, in bytes.
type Memory struct {
	// RSS is the resident set now (VmRSS); Peak the highest it has been
	// (VmHWM).
	RSS, Peak uint64
	// Anon and File split RSS into anonymous memory (heap, stacks) and
	// mapped files (the binary's text, etcd's bbolt file).
	Anon, File uint64
}

// MiB converts bytes to mebibytes.
func MiB(b uint64) float64 { return float64(b) / (1 << 20) }

func (m Memory) String() string {
	return fmt.Sprintf("rss %.1f MiB (anon %.1f, file %.1f), peak %.1f MiB", MiB(m.RSS), MiB(m.Anon), MiB(m.File), MiB(m.Peak))
}

// ReadMemory reads /proc/pid/status.
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	return parseStatus(f)
}

func parseStatus(r io.Reader) (Memory, error) {
	var m Memory
	if _, err := scanKB(r, map[string]*uint64{"VmRSS": &m.RSS, "VmHWM": &m.Peak, "RssAnon": &m.Anon, "RssFile": &m.File}); err != nil {
		return Memory{}, err
	}
	if m.RSS == 0 && m.Peak == 0 {
		return Memory{}, fmt.Errorf("no VmRSS/VmHWM in status (process exited?)")
	}
	return m, nil
}

// scanKB reads the "Name:   N kB" lines of a /proc file (status,
// smaps_rollup) named in fields into them, in bytes, and says how many
// it found.
func scanKB(r io.Reader, fields map[string]*uint64) (found int, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		dst, want := fields[name]
		if !ok || !want {
			continue
		}
		// "VmRSS:	   12345 kB"
		parts := strings.Fields(rest)
		if len(parts) != 2 || parts[1] != "kB" {
			return found, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseUint(parts[0], 10, 64)
		if err != nil {
			return found, fmt.Errorf("%s: %w", name, err)
		}
		*dst = kb << 10
		found++
	}
	return found, sc.Err()
}
