package schedbench

import (
	"os"

	"github.com/kemudi/kemudi/bench/harness"
)

// FromEnv reads a run's sizes from the environment, for `go test -bench`
// and `make bench`: KEMUDI_BENCH_NODES (default 5,000),
// KEMUDI_BENCH_SCHED_PODS (default per workload), KEMUDI_BENCH_CLIENTS
// (default 32); KEMUDI_BENCH_TMPDIR is where the server's data goes.
func FromEnv() (Options, error) {
	var o Options
	err := harness.EnvInts(map[string]*int{
		"KEMUDI_BENCH_NODES":      &o.Nodes,
		"KEMUDI_BENCH_SCHED_PODS": &o.Pods,
		"KEMUDI_BENCH_CLIENTS":    &o.Clients,
	})
	o.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	return o, err
}
