package schedbench

import (
	"fmt"
	"os"
	"strconv"
)

// FromEnv reads a run's sizes from the environment, for `go test -bench`
// and `make bench`: KEMUDI_BENCH_NODES (default 5,000),
// KEMUDI_BENCH_SCHED_PODS (default per workload), KEMUDI_BENCH_CLIENTS
// (default 32); KEMUDI_BENCH_TMPDIR is where the server's data goes.
func FromEnv() (Options, error) {
	var o Options
	var err error
	if o.Nodes, err = envInt("KEMUDI_BENCH_NODES"); err != nil {
		return o, err
	}
	if o.Pods, err = envInt("KEMUDI_BENCH_SCHED_PODS"); err != nil {
		return o, err
	}
	if o.Clients, err = envInt("KEMUDI_BENCH_CLIENTS"); err != nil {
		return o, err
	}
	o.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	return o, nil
}

func envInt(name string) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", name, v)
	}
	return n, nil
}
