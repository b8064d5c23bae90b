package simnodebench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// Print writes r as a table, then what else the run saw.
func (r *Result) Print(out io.Writer) {
	fmt.Fprintf(out, "sim-nodes benchmark: %d nodes, %d pods from %d goroutines; load %s before, %s after\n",
		r.Nodes, r.Pods, r.Clients, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	cores := func(p Phase, d time.Duration) string { return fmt.Sprintf("%.2f", p.Cores(d)) }
	row("phase", "wall", "sim cores", "server cores", "bench cores", "other cores", "sim RSS MiB", "server RSS MiB")
	row("register", r.Register.Round(time.Millisecond).String(), cores(r.RegisterCPU, r.RegisterCPU.Sim), cores(r.RegisterCPU, r.RegisterCPU.Server),
		cores(r.RegisterCPU, r.RegisterCPU.Self), cores(r.RegisterCPU, r.RegisterCPU.Other), "", "")
	row("idle", r.Idle.Elapsed.Round(time.Millisecond).String(), cores(r.Idle, r.Idle.Sim), cores(r.Idle, r.Idle.Server),
		cores(r.Idle, r.Idle.Self), cores(r.Idle, r.Idle.Other), mib(r.SimMemIdle.RSS), mib(r.ServerMemIdle.RSS))
	row("pods", r.PodsPhase.Elapsed.Round(time.Millisecond).String(), cores(r.PodsPhase, r.PodsPhase.Sim), cores(r.PodsPhase, r.PodsPhase.Server),
		cores(r.PodsPhase, r.PodsPhase.Self), cores(r.PodsPhase, r.PodsPhase.Other), mib(r.SimMemAfter.RSS), mib(r.ServerMemAfter.RSS))
	tw.Flush()
	fmt.Fprintf(out, "nodes: %d Ready, %d leases, oldest renewal %s ago (renewal interval %s)\n",
		r.NodesReady, r.LeasesFound, r.OldestLease.Round(time.Millisecond), renewInterval)
	fmt.Fprintf(out, "pods: %d created in %s (%.0f creates/s), %d failed, %d Running and Ready; %.0f running/s; create->ready p50 %s p90 %s p99 %s max %s\n",
		r.Created, r.CreatesDone.Round(time.Millisecond), float64(r.Created)/r.CreatesDone.Seconds(), r.Failed, r.Ready, r.RunningPerSec, ms(r.CreateToReady.P50), ms(r.CreateToReady.P90), ms(r.CreateToReady.P99), ms(r.CreateToReady.Max))
	for _, e := range r.Errors {
		fmt.Fprintf(out, "  create error: %s\n", e)
	}
	fmt.Fprintf(out, "sim-nodes memory: idle %s; after %s\n", r.SimMemIdle, r.SimMemAfter)
	fmt.Fprintf(out, "server memory: idle %s; after %s\n", r.ServerMemIdle, r.ServerMemAfter)
	fmt.Fprintf(out, "sim-nodes log: %d warnings, %d errors; stop: %v\n", r.SimWarnings, r.SimErrors, errText(r.SimStopErr))
	for _, s := range r.SimSamples {
		fmt.Fprintf(out, "  %s\n", clip(s))
	}
	fmt.Fprintf(out, "server log: %d warnings, %d errors; stop: %v\n", r.ServerLogs.Warnings, r.ServerLogs.Errors, errText(r.StopErr))
	for i, s := range r.ServerLogs.Samples {
		if i == 5 {
			fmt.Fprintf(out, "  ...\n")
			break
		}
		fmt.Fprintf(out, "  %s\n", clip(s))
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f", harness.MiB(b)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond)) }

func errText(err error) string {
	if err == nil {
		return "clean"
	}
	return err.Error()
}

// clip shortens a log line for the report.
func clip(s string) string {
	if len(s) > 240 {
		return s[:240] + "..."
	}
	return s
}
