package apibench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// The targets for kemudi, and upstream's figures on the same
// machine (kube-apiserver 1.37 on etcd 3.7, same workload). Upstream's
// RSS is the API server plus etcd, two processes; kemudi's is one
// process with etcd embedded.
const (
	targetCreatesPerSec = 1500
	targetCreateP99     = 50 * time.Millisecond
	targetWatchP99      = 50 * time.Millisecond
	targetRSSIdleMiB    = 80
	targetRSSAfterMiB   = 250

	upstreamCreatesPerSec = 398
	upstreamCreateP50     = 76 * time.Millisecond
	upstreamCreateP99     = 175 * time.Millisecond
	upstreamWatchP99      = 25 * time.Millisecond
	upstreamRSSIdleMiB    = 274 + 40
	upstreamRSSAfterMiB   = 549 + 75
)

// Print writes r as a table beside the targets and upstream's figures,
// then what else the run saw.
func (r *Result) Print(out io.Writer) {
	policy := ""
	if r.Policy {
		policy = ", 1 admission policy bound"
	}
	if r.Webhook {
		policy += ", 1 validating webhook on loopback"
	}
	fmt.Fprintf(out, "API server benchmark: %d pods, %d clients, %s, as %s%s; load %s before, %s after\n",
		r.Pods, r.Clients, r.Encoding, r.Identity, policy, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	check := func(pass bool) string {
		if pass {
			return "ok"
		}
		return "MISS"
	}
	row("metric", "kemudi", "target", "", "upstream")
	row("creates/s", fmt.Sprintf("%.0f", r.CreatesPerSec), fmt.Sprintf(">= %d", targetCreatesPerSec), check(r.CreatesPerSec >= targetCreatesPerSec), fmt.Sprint(upstreamCreatesPerSec))
	row("create p50 ms", msText(r.Create.P50), "", "", msText(upstreamCreateP50))
	row("create p90 ms", msText(r.Create.P90), "", "", "")
	row("create p99 ms", msText(r.Create.P99), "<= "+msText(targetCreateP99), check(r.Create.P99 <= targetCreateP99), msText(upstreamCreateP99))
	row("create max ms", msText(r.Create.Max), "", "", "")
	row("watch delivery p50 ms", msText(r.Delivery.P50), "", "", "")
	row("watch delivery p99 ms", msText(r.Delivery.P99), "<= "+msText(targetWatchP99), check(r.Delivery.P99 <= targetWatchP99), msText(upstreamWatchP99))
	row("watch delivery max ms", msText(r.Delivery.Max), "", "", "")
	row("req start->event p50 ms", msText(r.FromStart.P50), "", "", "")
	row("req start->event p99 ms", msText(r.FromStart.P99), "", "", "")
	row("req start->event max ms", msText(r.FromStart.Max), "", "", "")
	row("events lost", fmt.Sprint(r.Lost), "0", check(r.Lost == 0 && r.Created == r.Pods), "")
	row("RSS idle MiB", mibText(r.MemIdle.RSS), fmt.Sprintf("<= %d", targetRSSIdleMiB), check(harness.MiB(r.MemIdle.RSS) <= targetRSSIdleMiB), fmt.Sprintf("%d (274+40)", upstreamRSSIdleMiB))
	row("RSS after MiB", mibText(r.MemAfter.RSS), fmt.Sprintf("<= %d", targetRSSAfterMiB), check(harness.MiB(r.MemAfter.RSS) <= targetRSSAfterMiB), fmt.Sprintf("%d (549+75)", upstreamRSSAfterMiB))
	row("RSS peak (VmHWM) MiB", mibText(r.MemAfter.Peak), fmt.Sprintf("<= %d", targetRSSAfterMiB), check(harness.MiB(r.MemAfter.Peak) <= targetRSSAfterMiB), "")
	tw.Flush()

	fmt.Fprintf(out, "created %d of %d in %s, %d failed; %d API warnings\n", r.Created, r.Pods, r.Duration.Round(time.Millisecond), r.Failed, r.Warnings)
	for _, e := range r.Errors {
		fmt.Fprintf(out, "  create error: %s\n", e)
	}
	fmt.Fprintf(out, "watch: %d events before their create's response (delivery 0), %d duplicates, %d unexpected, %d restarts\n",
		r.EventsEarly, r.Duplicates, r.Unexpected, r.WatchRestarts)
	for _, e := range r.WatchErrors {
		fmt.Fprintf(out, "  watch: %s\n", e)
	}
	fmt.Fprintf(out, "connections: the %d create clients dialed %d (%d to %d each); %d established to the server after the creates (create clients, watch, admin and harness clients)\n",
		r.Clients, r.TotalDials, r.MinDials, r.MaxDials, r.Established)
	fmt.Fprintf(out, "memory: start %s; idle %s; after %s\n", r.MemStart, r.MemIdle, r.MemAfter)
	if r.Webhook {
		fmt.Fprintf(out, "webhook: called %d times (probes included)\n", r.WebhookCalls)
	}
	if r.Elapsed > 0 {
		cores := func(d time.Duration) float64 { return d.Seconds() / r.Elapsed.Seconds() }
		fmt.Fprintf(out, "cpu over the %s from first create to last event: server %.1fs (%.2f cores), benchmark client %.1fs (%.2f), other processes %.1fs (%.2f)\n",
			r.Elapsed.Round(time.Millisecond), r.ServerCPU.Seconds(), cores(r.ServerCPU), r.ClientCPU.Seconds(), cores(r.ClientCPU), r.OtherCPU.Seconds(), cores(r.OtherCPU))
	}
	if r.CreateCost.CPU > 0 {
		fmt.Fprintf(out, "server per create (%d clients): %s\n", r.Clients, r.CreateCost.perObject(r.Created))
	}
	if l := r.Latency; l != nil {
		l.Print(out)
	}
	fmt.Fprintf(out, "server log: %d warnings, %d errors", r.ServerLogs.Warnings, r.ServerLogs.Errors)
	if r.StopErr != nil {
		fmt.Fprintf(out, "; stop: %v", r.StopErr)
	} else {
		fmt.Fprint(out, "; stopped cleanly on SIGTERM")
	}
	fmt.Fprintln(out)
	for _, l := range r.ServerLogs.Samples {
		fmt.Fprintf(out, "  %s\n", l)
	}
}

func msText(d time.Duration) string { return fmt.Sprintf("%.1f", ms(d)) }

func mibText(b uint64) string { return fmt.Sprintf("%.1f", harness.MiB(b)) }
