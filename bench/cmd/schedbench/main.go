// Command schedbench runs the scheduler benchmark (bench/schedbench)
// against fresh `kemudi server` and `kemudi sim-nodes` processes and
// prints its table:
//
//	go run ./bench/cmd/schedbench                          # basic: 5,000 nodes, 10,000 pods
//	go run ./bench/cmd/schedbench -workload antiaffinity
//	go run ./bench/cmd/schedbench -scheduler-process       # scheduler CPU and RSS apart
//	go run ./bench/cmd/schedbench -run-pods                # the nodes also turn the pods Running
//	go run ./bench/cmd/schedbench -cpuprofile cpu.pprof -heapprofile heap.pprof
//	go tool pprof -top -tagfocus component=scheduler cpu.pprof
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

	"github.com/kemudi/kemudi/bench/schedbench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "schedbench:", err)
		os.Exit(1)
	}
}

func run() error {
	opts, err := schedbench.FromEnv()
	if err != nil {
		return err
	}
	flag.StringVar(&opts.Workload, "workload", schedbench.Basic, "basic or antiaffinity")
	flag.IntVar(&opts.Nodes, "nodes", opts.Nodes, "simulated nodes ($KEMUDI_BENCH_NODES, default 5000)")
	flag.IntVar(&opts.Pods, "pods", opts.Pods, "pods measured ($KEMUDI_BENCH_SCHED_PODS; default 10000, 2000 for antiaffinity)")
	flag.IntVar(&opts.InitPods, "init-pods", 0, "pods placed before measuring (default 0, 1000 for antiaffinity; -1 for none)")
	flag.IntVar(&opts.Clients, "clients", opts.Clients, "concurrent clients ($KEMUDI_BENCH_CLIENTS, default 32)")
	flag.BoolVar(&opts.RunPods, "run-pods", false, "have the simulated nodes run the bound pods (default: left Pending, as scheduler_perf)")
	flag.BoolVar(&opts.SchedulerProcess, "scheduler-process", false, "run the scheduler as a process of its own")
	flag.DurationVar(&opts.Settle, "settle", 0, "wait after the nodes are registered (default 10s)")
	flag.StringVar(&opts.CPUProfile, "cpuprofile", "", "write a CPU profile of the server, from the first create on, to this file")
	flag.DurationVar(&opts.CPUProfileDuration, "cpuprofile-duration", 0, "length of the CPU profile (default 10s)")
	flag.StringVar(&opts.HeapProfile, "heapprofile", "", "write a heap profile of the server after the run to this file")
	flag.StringVar(&opts.Server.Binary, "bin", "", "kemudi binary (default $KEMUDI_BIN, else go build)")
	flag.StringVar(&opts.Server.TempRoot, "tmpdir", opts.Server.TempRoot, "where the server's data directory goes ($KEMUDI_BENCH_TMPDIR)")
	logs := flag.Bool("logs", false, "copy the processes' output to stderr")
	flag.Parse()
	if *logs {
		opts.Server.Output = os.Stderr
		opts.Output = os.Stderr
	}
	opts.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := schedbench.Run(ctx, opts)
	if res != nil {
		res.Print(os.Stdout)
	}
	return err
}
