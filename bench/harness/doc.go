// Package harness runs the real `kemudi server` binary as a separate
// process for benchmarks: on a throwaway data directory and a free
// loopback port, with its memory read from /proc and its CPU and heap
// profiles fetched from /debug/pprof with the admin credentials.
// StartProcess runs other kemudi commands beside it (sim-nodes, a
// standalone scheduler); StartCluster adds simulated nodes in the
// benchmark process, a client and a namespace.
//
// Everything it starts it also ends: Close kills the process if it still
// runs and removes the data directory, so callers defer it right after
// Start. It talks to nothing but loopback.
package harness
