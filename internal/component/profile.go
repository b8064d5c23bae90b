package component

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
)

// CPUProfile starts a CPU profile into the file the environment
// variable env names, if it is set (the benchmarks set it), and returns
// what stops and writes it.
func CPUProfile(env string, log *slog.Logger) (stop func()) {
	p := os.Getenv(env)
	if p == "" {
		return func() {}
	}
	f, err := os.Create(p)
	if err != nil {
		log.Warn("CPU profile", "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Warn("CPU profile", "err", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// WriteHeapProfile writes the live heap, after a collection, to path.
func WriteHeapProfile(path string, log *slog.Logger) {
	f, err := os.Create(path)
	if err != nil {
		log.Warn("heap profile", "err", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		log.Warn("heap profile", "err", err)
	}
}
