package imagebench

import (
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
)

// startProfile writes a CPU profile of one timed operation to
// $KEMUDI_BENCH_PROFILE_DIR/<operation>.pprof when that is set (the
// benchmark's setup, making and seeding the image, stays out of it); the
// returned func stops it.
func startProfile(b *testing.B, what string) func() {
	dir := os.Getenv("KEMUDI_BENCH_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	name := strings.Fields(what)[0] + ".pprof"
	if strings.Contains(what, "again") {
		name = "push-again.pprof"
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
