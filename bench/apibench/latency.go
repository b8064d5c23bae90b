package apibench

import (
	"context"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/bench/harness"
)

// LatencyRun is the low-concurrency phase of a run: one client creating
// pods one at a time, alternately in the benchmark's namespace (which
// the webhook or policy selects) and in a second namespace that nothing
// selects, so that what one create pays for the webhook is measured
// without the throughput phase's clients queueing for the cores, and
// both halves see the same load.
type LatencyRun struct {
	// Pods is the creates in each namespace: Namespace (the benchmark's)
	// and its plain one.
	Pods      int
	Namespace string
	// Selected are the creates in the benchmark's namespace, Plain those
	// in the namespace nothing selects.
	Selected, Plain Latencies
	// Cost is what the server spent on the phase (both namespaces).
	Cost phaseCost
	// Failed creates, with the first error.
	Failed int
	Err    string
}

// plainNamespace is the namespace the latency phase's unselected
// creates go to.
func plainNamespace(ns string) string { return ns + "-plain" }

// runLatency makes n creates in ns and n in its plain namespace, one at
// a time, alternating which goes first (ABBA) so that neither always
// follows the other.
func runLatency(ctx context.Context, srv *harness.Server, c *client, ns string, n int) (*LatencyRun, error) {
	plain := plainNamespace(ns)
	if err := createNamespace(ctx, c, plain); err != nil {
		return nil, err
	}
	lr := &LatencyRun{Pods: n, Namespace: ns}
	var selected, unselected []time.Duration
	create := func(namespace, name string) (time.Duration, bool) {
		start := time.Now()
		_, err := c.CoreV1().Pods(namespace).Create(ctx, smallPod(namespace, name), metav1.CreateOptions{})
		d := time.Since(start)
		if err != nil {
			lr.Failed++
			if lr.Err == "" {
				lr.Err = fmt.Sprintf("%s/%s: %v", namespace, name, err)
			}
			return 0, false
		}
		return d, true
	}
	before := readCounters(ctx, srv)
	for i := range n {
		name := fmt.Sprintf("latency-%06d", i)
		order := []string{ns, plain}
		if i%2 == 1 {
			order[0], order[1] = plain, ns
		}
		for _, namespace := range order {
			d, ok := create(namespace, name)
			switch {
			case !ok:
			case namespace == ns:
				selected = append(selected, d)
			default:
				unselected = append(unselected, d)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	lr.Cost = readCounters(ctx, srv).since(before)
	lr.Selected, lr.Plain = Summarize(selected), Summarize(unselected)
	return lr, nil
}

// Added is what a create in the selected namespace paid over one in the
// plain namespace, at p50 and p99.
func (l *LatencyRun) Added() (p50, p99 time.Duration) {
	return l.Selected.P50 - l.Plain.P50, l.Selected.P99 - l.Plain.P99
}

// Print writes the phase's figures, a line per namespace.
func (l *LatencyRun) Print(out io.Writer) {
	row := func(ns string, lat Latencies) {
		fmt.Fprintf(out, "  %-16s p50 %s, p90 %s, p99 %s, max %s ms (%d creates)\n", ns, msText(lat.P50), msText(lat.P90), msText(lat.P99), msText(lat.Max), lat.N)
	}
	fmt.Fprintf(out, "1 client, one create at a time, alternating namespaces:\n")
	row(l.Namespace, l.Selected)
	row(plainNamespace(l.Namespace), l.Plain)
	p50, p99 := l.Added()
	fmt.Fprintf(out, "  %s over %s: p50 %+.2f ms, p99 %+.2f ms; server per create (both): %s\n",
		l.Namespace, plainNamespace(l.Namespace), ms(p50), ms(p99), l.Cost.perObject(l.Selected.N+l.Plain.N))
	if l.Failed > 0 {
		fmt.Fprintf(out, "  %d creates failed, first: %s\n", l.Failed, l.Err)
	}
}
