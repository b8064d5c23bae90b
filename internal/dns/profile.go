package dns

import (
	"log/slog"
	"os"
	"time"

	"github.com/kemudi/kemudi/internal/component"
)

// startProfiles writes a CPU profile of the whole run to
// $KEMUDI_DNS_CPUPROFILE and, every five seconds, a heap profile to
// $KEMUDI_DNS_HEAPPROFILE, for the benchmarks (bench/dnsbench). The
// returned function stops and writes them.
func startProfiles(log *slog.Logger) func() {
	stops := []func(){component.CPUProfile("KEMUDI_DNS_CPUPROFILE", log)}
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
					component.WriteHeapProfile(p, log)
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
