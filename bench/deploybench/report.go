package deploybench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes r as a table beside the target.
func (r *Result) Print(out io.Writer) {
	fmt.Fprintf(out, "deployment benchmark: %d deployments x %d replicas on %d simulated nodes; load %s before, %s after\n",
		r.Deployments, r.Replicas, r.Nodes, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	row("phase", "pods", "half (s)", "all (s)", "pods/s", "created", "")
	for _, p := range r.Phases {
		check := "ok"
		if p.Name != "delete to no pod" && p.Created != p.Pods {
			check = "EXTRA"
			if p.Created < p.Pods {
				check = "SHORT"
			}
		}
		row(p.Name, fmt.Sprint(p.Pods), fmt.Sprintf("%.1f", p.Half.Seconds()), fmt.Sprintf("%.1f", p.Took.Seconds()),
			fmt.Sprintf("%.0f", float64(p.Pods)/p.Took.Seconds()), fmt.Sprint(p.Created), check)
	}
	tw.Flush()
	for _, p := range r.Phases {
		if l := p.Latency; l.LastCreated > 0 {
			fmt.Fprintf(out, "%s: last pod created at %.1fs; created->bound p50 %s p99 %s; bound->ready p50 %s p99 %s\n", p.Name, l.LastCreated.Seconds(),
				l.Scheduled[0].Round(time.Millisecond), l.Scheduled[1].Round(time.Millisecond), l.Started[0].Round(time.Millisecond), l.Started[1].Round(time.Millisecond))
		}
	}
	for _, p := range r.Phases {
		if len(p.Writes) > 0 {
			fmt.Fprintf(out, "%s: %s\n", p.Name, p.Writes)
		}
	}
	fmt.Fprintf(out, "per deployment: at most %d pods at once (allowed %d), at least %d available during the update (allowed %d)\n",
		r.MostPods, r.AllowedPods, r.FewestAvailable, r.AllowedAvailable)
	fmt.Fprintf(out, "target: >= 500 pods/s from creation to available\n")
	fmt.Fprintf(out, "server: cpu %.1fs over the phases, memory %s\n", r.ServerCPU.Round(100*time.Millisecond).Seconds(), r.ServerMem)
}
