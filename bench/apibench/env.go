package apibench

import (
	"fmt"
	"os"
	"strconv"
)

// FromEnv reads the sizes of a run from the environment, for `go test
// -bench` and `make bench`: KEMUDI_BENCH_PODS (default 10,000) and
// KEMUDI_BENCH_CLIENTS (default 32); KEMUDI_BENCH_TMPDIR is where the
// server's data directory goes.
func FromEnv() (Options, error) {
	var o Options
	var err error
	if o.Pods, err = envInt("KEMUDI_BENCH_PODS"); err != nil {
		return o, err
	}
	if o.Clients, err = envInt("KEMUDI_BENCH_CLIENTS"); err != nil {
		return o, err
	}
	o.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	o.defaults()
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
