package endpointsbench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kemudi/kemudi/bench/apibench"
)

// targetUpdate is the target: endpoints of a 1,000-pod service
// updated within 1 s of a readiness change.
const targetUpdate = time.Second

// Print writes r as a table beside the target.
func (r *Result) Print(out io.Writer) {
	fmt.Fprintf(out, "endpoints benchmark: 1 service, %d pods on %d simulated nodes, %d readiness flips; load %s before, %s after\n",
		r.Pods, r.Nodes, r.Flips, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	check := func(pass bool) string {
		if pass {
			return "ok"
		}
		return "MISS"
	}
	lat := func(name string, l apibench.Latencies, target bool) {
		t, c := "", ""
		if target {
			t, c = "<= "+ms(targetUpdate), check(l.Max <= targetUpdate && r.Missed == 0)
		}
		row(name, ms(l.P50), ms(l.P90), ms(l.Max), t, c)
	}
	row("ms", "p50", "p90", "max", "target", "")
	lat("ready->endpoints", r.ReadyToEndpoints, true)
	lat("ready->slice", r.ReadyToSlice, true)
	lat("gate->ready (kubelet)", r.GateToReady, false)
	tw.Flush()
	fmt.Fprintf(out, "flips missed: %d; %d pods into the endpoints %s after the first create; every gate set -> every address ready %s\n",
		r.Missed, r.Pods, r.Converge.Round(time.Millisecond), r.AllReady.Round(time.Millisecond))
	fmt.Fprintf(out, "server: cpu %.1fs over the flips and the mass readiness, memory %s\n", r.ServerCPU.Seconds(), r.ServerMem)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }
