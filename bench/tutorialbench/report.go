package tutorialbench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes r as a table, with the machine's load before and after.
func Print(w io.Writer, loadBefore, loadAfter string, r Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	fmt.Fprintln(tw, "tutorial, build → page via load balancer\tbuild\tpush\tcreate+expose → page\ttotal")
	for _, row := range []struct {
		name string
		t    Tutorial
	}{{"uncached (first build)", r.Uncached}, {"cached (same build again)", r.Cached}} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", row.name, ms(row.t.Build), ms(row.t.Push), ms(row.t.Deploy), ms(row.t.Total))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "create deployment → first 200 via load balancer\tmedian\truns\ttarget")
	fmt.Fprintf(tw, "image in the registry, not on the node\t%s\t%s\t≤ 2s\n", ms(median(r.Cold)), list(r.Cold))
	fmt.Fprintf(tw, "image on the node\t%s\t%s\t\n", ms(median(r.Warm)), list(r.Warm))
	tw.Flush()
	printSteps(w, r)
	if r.ImageMiB > 0 {
		fmt.Fprintf(w, "image %s: %.1f MiB\n", Image, r.ImageMiB)
	}
	fmt.Fprintf(w, "the node's images when the cold pull starts (kemudi image ls):\n%s", r.NodeImages)
	fmt.Fprintf(w, "load average before: %s, after: %s (2 shared cores: figures are noisy)\n", loadBefore, loadAfter)
}

func list(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Round(time.Millisecond).String())
	}
	return strings.Join(s, " ")
}

// printSteps writes each round's timeline: when each step was seen, as
// offsets from the start of `kubectl create deployment`.
func printSteps(w io.Writer, r Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tkubectl\tpod\tscheduled\tkubelet\tsandbox\tpulled\t(pull)\trunning\tendpoint\t200\tserver CPU\tCPU wait\t")
	ms := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", d.Seconds())
	}
	for _, set := range []struct {
		name  string
		steps []Timeline
	}{{"cold", r.ColdSteps}, {"warm", r.WarmSteps}} {
		for i, t := range set.steps {
			fmt.Fprintf(tw, "%s %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", set.name, i+1,
				ms(t.Kubectl), ms(t.PodCreated), ms(t.Scheduled), ms(t.KubeletSeen), ms(t.Sandbox), ms(t.Pulled), ms(t.Pull),
				ms(t.Running), ms(t.Endpoint), ms(t.Answered), ms(t.ServerCPU), ms(t.ServerWait))
		}
	}
	fmt.Fprintln(w, "steps of create deployment → first 200, seconds after kubectl started (server CPU: CPU-s of `kemudi server` over the round; CPU wait: seconds its threads waited for a CPU):")
	tw.Flush()
}
