package dns

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// startProfiles writes a CPU profile of the whole run to
// $KEMUDI_DNS_CPUPROFILE and, every five seconds, a heap profile to
// $KEMUDI_DNS_HEAPPROFILE, for the benchmarks (bench/dnsbench). The
// returned function stops and writes them.
func startProfiles(log *slog.Logger) func() {
	var stops []func()
	if p := os.Getenv("KEMUDI_DNS_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err != nil {
			log.Warn("cpu profile", "err", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			log.Warn("cpu profile", "err", err)
			f.Close()
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if p := os.Getenv("KEMUDI_DNS_HEAPPROFILE"); p != "" {
		// Rewritten every few seconds: at exit the snapshot and the
		// caches are gone already.
		done := make(chan struct{})
		go func() {
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					writeHeapProfile(p, log)
				}
			}
		}()
		stops = append(stops, func() { close(done) })
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

func writeHeapProfile(path string, log *slog.Logger) {
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
