package schedbench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// The targets, and upstream's figures on this machine
// (kube-apiserver + etcd 3.7 + kube-scheduler 1.37, client rate limits
// lifted) and in its CI (scheduler_perf on larger machines).
const (
	targetBasicPodsPerSec        = 1100
	targetAntiAffinityPodsPerSec = 300
	targetP99                    = time.Second

	upstreamPodsPerSec      = 110
	upstreamP50             = 12 * time.Second
	upstreamP99             = 23 * time.Second
	upstreamSchedulerRSSMiB = 322
	upstreamCIPodsPerSec    = 680
	upstreamCIAntiAffinity  = 180
)

// Print writes r as a table beside the targets and upstream's figures.
func (r *Result) Print(out io.Writer) {
	where := "in the server process"
	if r.SchedulerProcess {
		where = "as a process of its own"
	}
	pods := "left Pending by the nodes"
	if r.RunPods {
		pods = "run by the nodes"
	}
	fmt.Fprintf(out, "scheduler benchmark (%s): %d nodes, %d pods measured after %d placed (%s), %d clients, scheduler %s; load %s before, %s after\n",
		r.Workload, r.Nodes, r.Pods, r.InitPods, pods, r.Clients, where, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	check := func(pass bool) string {
		if pass {
			return "ok"
		}
		return "MISS"
	}
	target, upstream := float64(targetBasicPodsPerSec), fmt.Sprintf("%d here, %d in CI", upstreamPodsPerSec, upstreamCIPodsPerSec)
	if r.Workload == AntiAffinity {
		target, upstream = targetAntiAffinityPodsPerSec, fmt.Sprintf("%d in CI", upstreamCIAntiAffinity)
	}
	row("metric", "kemudi", "target", "", "upstream")
	row("pods/s", fmt.Sprintf("%.0f", r.PodsPerSec), fmt.Sprintf(">= %.0f", target), check(r.PodsPerSec >= target), upstream)
	row("create->bound p50 ms", msText(r.CreateToBound.P50), "", "", msText(upstreamP50))
	row("create->bound p90 ms", msText(r.CreateToBound.P90), "", "", "")
	row("create->bound p99 ms", msText(r.CreateToBound.P99), "<= "+msText(targetP99), check(r.CreateToBound.P99 <= targetP99), msText(upstreamP99))
	row("create->bound max ms", msText(r.CreateToBound.Max), "", "", "")
	row("create p50 / p99 ms", msText(r.Create.P50)+" / "+msText(r.Create.P99), "", "", "")
	row("bound exactly once", fmt.Sprintf("%d/%d, %d rebound", r.Bound, r.Pods, r.Rebound), "all, 0", check(r.Bound == r.Pods && r.Rebound == 0 && r.Failed == 0), "")
	if r.SchedulerProcess {
		row("scheduler RSS MiB", mibText(r.Scheduler.Mem.RSS), "", "", fmt.Sprint(upstreamSchedulerRSSMiB))
	}
	tw.Flush()

	fmt.Fprintf(out, "created %d (%d failed) in %s; last binding %s after the first create; nodes registered in %s\n",
		r.Created, r.Failed, r.CreatesDone.Round(time.Millisecond), r.Duration.Round(time.Millisecond), r.Registration.Round(time.Millisecond))
	for _, e := range r.Errors {
		fmt.Fprintf(out, "  error: %s\n", e)
	}
	if window := r.Duration; window > 0 {
		cores := func(d time.Duration) string {
			return fmt.Sprintf("%.1fs (%.2f cores)", d.Seconds(), d.Seconds()/window.Seconds())
		}
		fmt.Fprintf(out, "cpu over the run: server %s", cores(r.Server.CPU))
		if r.SchedulerProcess {
			fmt.Fprintf(out, ", scheduler %s", cores(r.Scheduler.CPU))
		}
		fmt.Fprintf(out, ", sim-nodes %s, benchmark clients %s, whole machine %s\n", cores(r.Sim.CPU), cores(r.ClientCPU), cores(r.MachineCPU))
		if r.SchedulerProcess {
			total := r.Server.CPU + r.Scheduler.CPU
			fmt.Fprintf(out, "scheduler share of the control plane's cpu: %.0f%%\n", 100*r.Scheduler.CPU.Seconds()/max(total.Seconds(), 1e-9))
		}
	}
	fmt.Fprintf(out, "memory after: server %s", r.Server.Mem)
	if r.SchedulerProcess {
		fmt.Fprintf(out, "; scheduler %s", r.Scheduler.Mem)
	}
	fmt.Fprintf(out, "; sim-nodes %s\n", r.Sim.Mem)
	var names []string
	for n := range r.Logs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "%s log: %s\n", n, r.Logs[n])
	}
}

func msText(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

func mibText(b uint64) string { return fmt.Sprintf("%.0f", harness.MiB(b)) }
