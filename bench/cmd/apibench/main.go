// Command apibench runs the API server benchmark against a fresh
// `kemudi server` process and prints a table of its figures beside the
// targets and upstream's:
//
//	go run ./bench/cmd/apibench                     # 10,000 pods, JSON
//	go run ./bench/cmd/apibench -pods 1000 -protobuf
//	go run ./bench/cmd/apibench -identity rbac     # creates authorized through RBAC
//	go run ./bench/cmd/apibench -compare-identities 3  # admin and RBAC runs alternately, side by side
//	go run ./bench/cmd/apibench -cpuprofile cpu.pprof -heapprofile heap.pprof
//	go tool pprof -top cpu.pprof
//
// The binary is $KEMUDI_BIN, -bin, or one built with `go build`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kemudi/kemudi/bench/apibench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "apibench:", err)
		os.Exit(1)
	}
}

func run() error {
	opts, err := apibench.FromEnv()
	if err != nil {
		return err
	}
	flag.IntVar(&opts.Pods, "pods", opts.Pods, "pods to create ($KEMUDI_BENCH_PODS)")
	flag.IntVar(&opts.Clients, "clients", opts.Clients, "concurrent clients, each on its own connection ($KEMUDI_BENCH_CLIENTS)")
	flag.BoolVar(&opts.Protobuf, "protobuf", false, "clients and watch speak protobuf instead of JSON")
	flag.BoolVar(&opts.Policy, "policy", false, "bind a ValidatingAdmissionPolicy (one CEL rule) to the pod creates")
	flag.BoolVar(&opts.Webhook, "webhook", false, "call a validating admission webhook (on loopback, allowing all) on every pod create")
	flag.IntVar(&opts.LatencyPods, "latency-pods", 0, "after the creates, one client makes this many creates one at a time in the benchmark's namespace and as many in one nothing selects, alternately (what one create pays for -webhook or -policy)")
	flag.StringVar(&opts.Identity, "identity", apibench.IdentityAdmin, `who creates the pods: "admin" (system:masters) or "rbac" (a user a RoleBinding allows)`)
	flag.DurationVar(&opts.Settle, "settle", opts.Settle, "idle time after start before the idle RSS is read")
	flag.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile of the server, taken from the first create on, to this file")
	flag.DurationVar(&opts.CPUProfileDuration, "cpuprofile-duration", opts.CPUProfileDuration, "length of the CPU profile")
	flag.StringVar(&opts.HeapProfile, "heapprofile", "", "write a heap profile of the server, taken after the run, to this file (-crd: once the CRDs settled, and the idle heap before to <file>.before)")
	flag.StringVar(&opts.InstallProfile, "installprofile", "", "-crd: write a CPU profile of the server, taken from the start of the CRD install, to this file")
	flag.StringVar(&opts.Server.Binary, "bin", "", "kemudi binary (default $KEMUDI_BIN, else go build)")
	flag.StringVar(&opts.Server.TempRoot, "tmpdir", opts.Server.TempRoot, "where the server's data directory goes ($KEMUDI_BENCH_TMPDIR; default the system temp dir)")
	serverLog := flag.Bool("server-log", false, "copy the server's output to stderr")
	runs := flag.Int("runs", 1, "runs, each on a fresh server")
	comparePairs := flag.Int("compare-identities", 0, "make this many runs as system:masters and as many as a user bound through RBAC, alternately on fresh servers, and print the medians side by side against the authorization target")
	crd := flag.Bool("crd", false, "custom resources: install 100 CRDs at once (time to Established, RSS growth), then create -pods/5 pods (warm-up), -pods pods, as many custom objects (20-field schema, 2 CEL rules) and as many pods again with the same clients")
	flag.Func("server-arg", "an extra flag for the kemudi server (repeat for more), e.g. -server-arg=--audit-policy-file=p.yaml", func(v string) error {
		opts.Server.Args = append(opts.Server.Args, v)
		return nil
	})
	flag.Parse()
	if *serverLog {
		opts.Server.Output = os.Stderr
	}
	opts.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *crd {
		res, err := apibench.RunCustomResources(ctx, opts)
		if res != nil {
			res.Print(os.Stdout)
		}
		return err
	}
	if *comparePairs > 0 {
		c, err := apibench.CompareIdentities(ctx, opts, *comparePairs, os.Stderr)
		c.Print(os.Stdout)
		return err
	}
	for i := 1; i <= *runs; i++ {
		if *runs > 1 {
			fmt.Printf("== run %d of %d (%s)\n", i, *runs, time.Now().Format(time.TimeOnly))
		}
		res, err := apibench.Run(ctx, opts)
		if res != nil {
			res.Print(os.Stdout)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
