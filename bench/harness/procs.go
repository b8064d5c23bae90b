package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// ProcessesMentioning lists the processes whose command line contains s
// (a runtime's directory: its daemon, shims, supervisor), not this one.
// Tests use it to clean up what a run left; benchmarks to measure it.
func ProcessesMentioning(s string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, pid)
		}
	}
	return out
}
