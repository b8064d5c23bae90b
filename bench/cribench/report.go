package cribench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// Print writes the results side by side, one column per runtime, with the
// issue's targets for kemudi beside them.
func Print(out io.Writer, loadBefore, loadAfter string, rs ...Result) {
	fmt.Fprintf(out, "CRI benchmark, one client, image present for pods; load %s before, %s after (2 shared cores: noisy)\n", loadBefore, loadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(Result) string, target string) {
		cells := []string{name}
		for _, r := range rs {
			cells = append(cells, f(r))
		}
		fmt.Fprintln(tw, strings.Join(append(cells, target), "\t")+"\t")
	}
	row("", func(r Result) string { return r.Name }, "target (kemudi)")
	row("pull busybox", func(r Result) string { return ms(r.Pull) }, "")
	row("1 pod: RunPodSandbox", func(r Result) string { return ms(r.RunPodSandbox) }, "")
	row("1 pod: create+start", func(r Result) string { return ms(r.CreateStart) }, "")
	row("1 pod: sandbox to running", func(r Result) string { return ms(r.PodToRunning) }, "≤ 50 ms")
	row("1 pod: stop+remove", func(r Result) string { return ms(r.StopRemove) }, "")
	n := 0
	if len(rs) > 0 {
		n = rs[0].Pods
	}
	row(fmt.Sprintf("%d at once: p50", n), func(r Result) string { return ms(r.P50) }, "")
	row(fmt.Sprintf("%d at once: p99", n), func(r Result) string { return ms(r.P99) }, "≤ 500 ms")
	row(fmt.Sprintf("%d at once: all running", n), func(r Result) string { return ms(r.StartWall) }, "")
	row(fmt.Sprintf("%d at once: errors", n), func(r Result) string { return fmt.Sprint(r.StartErrors) }, "0")
	row(fmt.Sprintf("%d at once: stop+remove all", n), func(r Result) string { return ms(r.Teardown) }, "")
	row("CPU per pod (runtime + pod cgroups)", func(r Result) string { return ms(r.CPUPerPod) }, "")
	row("RSS idle, right after the calls (MiB)", func(r Result) string { return fmt.Sprintf("%.1f", harness.MiB(r.IdleRSSNow)) }, "")
	row(fmt.Sprintf("RSS with %d pods, right after (MiB)", n), func(r Result) string { return fmt.Sprintf("%.1f", harness.MiB(r.BusyRSSNow)) }, "")
	row("RSS idle at rest (MiB, processes)", func(r Result) string { return fmt.Sprintf("%.1f (%d)", harness.MiB(r.IdleRSS), r.IdleProcs) }, "≤ 30")
	row(fmt.Sprintf("RSS with %d pods at rest (MiB, processes)", n), func(r Result) string { return fmt.Sprintf("%.1f (%d)", harness.MiB(r.BusyRSS), r.BusyProcs) }, "")
	row("RSS per pod (MiB)", func(r Result) string {
		if r.Pods == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", (harness.MiB(r.BusyRSS)-harness.MiB(r.IdleRSS))/float64(r.Pods))
	}, "≤ 1")
	row("pods' pause processes: RSS (anon) per pod (MiB)", func(r Result) string {
		if r.Pods == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f (%.2f), %d", harness.MiB(r.PodKeptRSS)/float64(r.Pods), harness.MiB(r.PodKeptAnon)/float64(r.Pods), r.PodKept)
	}, "")
	tw.Flush()
	for _, r := range rs {
		fmt.Fprintf(out, "%s CPU of the pods at once: %s\n", r.Name, strings.Join(r.CPUByPart, ", "))
		if len(r.IdleByProcess) > 0 && len(r.IdleByProcess) <= 8 {
			fmt.Fprintf(out, "%s idle: %s\n", r.Name, strings.Join(r.IdleByProcess, ", "))
		}
		if r.FirstError != "" {
			fmt.Fprintf(out, "%s: first error: %s\n", r.Name, r.FirstError)
		}
		if r.TeardownErrors > 0 {
			fmt.Fprintf(out, "%s: %d pods failed to stop or remove\n", r.Name, r.TeardownErrors)
		}
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
