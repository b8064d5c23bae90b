package workloadbench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes r as a table: each phase's pods, time, pods per second,
// and whether the controllers created exactly the pods needed.
func (r *Result) Print(out io.Writer) {
	fmt.Fprintf(out, "workload benchmark: %d simulated nodes; load %s before, %s after\n", r.Nodes, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	row("phase", "pods", "seconds", "pods/s", "created", "")
	for _, p := range r.Phases {
		check := "ok"
		if p.Created != p.Pods {
			check = "EXTRA"
			if p.Created < p.Pods {
				check = "SHORT"
			}
		}
		row(p.Name, fmt.Sprint(p.Pods), fmt.Sprintf("%.1f", p.Took.Seconds()), fmt.Sprintf("%.0f", float64(p.Pods)/p.Took.Seconds()), fmt.Sprint(p.Created), check)
	}
	tw.Flush()
	fmt.Fprintf(out, "server: cpu %.1fs over the phases, memory %s\n", r.ServerCPU.Round(100*time.Millisecond).Seconds(), r.ServerMem)
}
