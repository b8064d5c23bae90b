package apibench

import (
	"os"

	"github.com/kemudi/kemudi/bench/harness"
)

// FromEnv reads the sizes of a run from the environment, for `go test
// -bench` and `make bench`: KEMUDI_BENCH_PODS (default 10,000) and
// KEMUDI_BENCH_CLIENTS (default 32); KEMUDI_BENCH_TMPDIR is where the
// server's data directory goes.
func FromEnv() (Options, error) {
	var o Options
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_PODS": &o.Pods, "KEMUDI_BENCH_CLIENTS": &o.Clients}); err != nil {
		return o, err
	}
	o.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	o.defaults()
	return o, nil
}
