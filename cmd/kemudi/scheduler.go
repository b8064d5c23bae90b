package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/scheduler"
)

func newSchedulerCommand() *cobra.Command {
	o := scheduler.DefaultOptions()
	var kubeconfig, profiling string
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the scheduler alone, against any API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSupervised(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				if profiling != "" {
					if err := serveProfiles(ctx, profiling); err != nil {
						return err
					}
				}
				return scheduler.Run(ctx, cfg, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (e.g. <data-dir>/scheduler.kubeconfig)")
	f.StringSliceVar(&o.SchedulerNames, "scheduler-name", []string{scheduler.DefaultSchedulerName}, "spec.schedulerName values to serve (repeat for several)")
	f.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "schedule only while holding the lease named by --leader-elect-resource-name")
	f.StringVar(&o.LeaseName, "leader-elect-resource-name", "kube-scheduler", "name of the kube-system Lease to hold")
	addLeaderElectionFlags(cmd, &o.LeaseDuration, &o.RenewDeadline, &o.RetryPeriod)
	f.Int32Var(&o.PercentageOfNodesToScore, "percentage-of-nodes-to-score", 0, "share of nodes to find feasible before scoring (0: upstream's adaptive default)")
	f.IntVar(&o.Parallelism, "parallelism", 0, "goroutines filtering and scoring nodes (0: half the CPUs, at least 1)")
	f.StringVar(&profiling, "profiling-address", "", "serve /debug/pprof on this address (e.g. 127.0.0.1:10259; default off)")
	return cmd
}

// serveProfiles serves the Go profiles on addr (plain HTTP: give it a
// loopback address) until ctx ends.
func serveProfiles(ctx context.Context, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("profiling server", "err", err)
		}
	}()
	slog.Info("serving profiles", "address", l.Addr().String())
	return nil
}
