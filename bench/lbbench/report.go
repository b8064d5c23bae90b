package lbbench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// targetAll is the target: every address within 5 s of the last
// create.
const targetAll = 5 * time.Second

// Print writes r as a table beside the target.
func (r *Result) Print(out io.Writer) {
	fmt.Fprintf(out, "load-balancer benchmark: %d LoadBalancer services created at once by %d clients; load %s before, %s after\n",
		r.Services, writers, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	ok := "ok"
	if r.LastCreateToAll > targetAll {
		ok = "MISS"
	}
	l := r.CreateToIngress
	row("ms", "p50", "p99", "max", "target", "")
	row("create->ingress", ms(l.P50), ms(l.P99), ms(l.Max), "", "")
	row("last create->all addressed", "", "", ms(r.LastCreateToAll), "<= "+ms(targetAll), ok)
	tw.Flush()
	fmt.Fprintf(out, "traffic: %d of %d services answered through EXTERNAL-IP:80, all within %s of the last address\n",
		r.Answered, r.Services, r.AllFlowing.Round(time.Millisecond))
	fmt.Fprintf(out, "cloud controller: cpu %.2fs from the first create to the last address, memory %s; server cpu %.2fs\n",
		r.ControllerCPU.Seconds(), r.ControllerMem, r.ServerCPU.Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }
