package apibench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// The target for authorization: creating as a user RBAC allows
// may lose at most 5% of the creates/s and add at most 1 ms to the create
// p99 of the same run as system:masters.
const (
	targetRBACRateLoss = 0.05
	targetRBACAddedP99 = time.Millisecond
)

// IdentityComparison is the same run made as the admin and as a user
// bound through RBAC, alternately, each on a fresh server.
type IdentityComparison struct {
	Admin, RBAC []*Result
}

// CompareIdentities makes pairs runs as each identity, in the order
// admin, rbac, rbac, admin, admin, rbac … so that a machine whose load
// drifts during the runs favours neither.
func CompareIdentities(ctx context.Context, opts Options, pairs int, progress io.Writer) (*IdentityComparison, error) {
	c := &IdentityComparison{}
	for i, identity := range identityOrder(pairs) {
		if progress != nil {
			fmt.Fprintf(progress, "apibench: run %d of %d as %s (%s)\n", i+1, 2*pairs, identity, time.Now().Format(time.TimeOnly))
		}
		o := opts
		o.Identity = identity
		res, err := Run(ctx, o)
		if err != nil {
			return c, fmt.Errorf("run %d as %s: %w", i+1, identity, err)
		}
		if identity == IdentityAdmin {
			c.Admin = append(c.Admin, res)
		} else {
			c.RBAC = append(c.RBAC, res)
		}
	}
	return c, nil
}

// identityOrder is ABBA ABBA …: every pair of pairs puts each identity
// first once.
func identityOrder(pairs int) []string {
	var order []string
	for i := range pairs {
		if i%2 == 0 {
			order = append(order, IdentityAdmin, IdentityRBAC)
		} else {
			order = append(order, IdentityRBAC, IdentityAdmin)
		}
	}
	return order
}

// identitySummary is the median over one identity's runs of what the
// target judges, and of the server's CPU per create, which the machine's
// other load changes least.
type identitySummary struct {
	CreatesPerSec float64
	P50, P99      time.Duration
	CPUPerCreate  time.Duration
}

func summarize(runs []*Result) identitySummary {
	var rates []float64
	var p50s, p99s, cpus []time.Duration
	for _, r := range runs {
		rates = append(rates, r.CreatesPerSec)
		p50s = append(p50s, r.Create.P50)
		p99s = append(p99s, r.Create.P99)
		if r.Created > 0 {
			cpus = append(cpus, r.ServerCPU/time.Duration(r.Created))
		}
	}
	return identitySummary{
		CreatesPerSec: median(rates),
		P50:           median(p50s),
		P99:           median(p99s),
		CPUPerCreate:  median(cpus),
	}
}

// median of xs (the lower middle for an even count); zero when empty.
func median[T float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// identityVerdict compares the RBAC runs' medians with the admin runs'.
type identityVerdict struct {
	RateLoss  float64 // fraction of the admin's creates/s lost
	AddedP50  time.Duration
	AddedP99  time.Duration
	AddedCPU  time.Duration // server CPU per create, RBAC less admin
	RateOK    bool
	P99OK     bool
	Admin, RB identitySummary
}

func judgeIdentities(admin, rbac identitySummary) identityVerdict {
	v := identityVerdict{Admin: admin, RB: rbac}
	if admin.CreatesPerSec > 0 {
		v.RateLoss = (admin.CreatesPerSec - rbac.CreatesPerSec) / admin.CreatesPerSec
	}
	v.AddedP99 = rbac.P99 - admin.P99
	v.AddedP50 = rbac.P50 - admin.P50
	v.AddedCPU = rbac.CPUPerCreate - admin.CPUPerCreate
	v.RateOK = v.RateLoss <= targetRBACRateLoss
	v.P99OK = v.AddedP99 <= targetRBACAddedP99
	return v
}

// Print writes each run's figures, then the medians side by side with
// the difference and the target.
func (c *IdentityComparison) Print(out io.Writer) {
	if len(c.Admin) == 0 || len(c.RBAC) == 0 {
		fmt.Fprintln(out, "identity comparison: no complete pair of runs")
		return
	}
	first := c.Admin[0]
	fmt.Fprintf(out, "Authorization cost: %d pods, %d clients, %s; %d runs as system:masters and %d as a user bound through RBAC, alternating on fresh servers\n",
		first.Pods, first.Clients, first.Encoding, len(c.Admin), len(c.RBAC))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	row("run", "as", "creates/s", "p50 ms", "p99 ms", "server CPU/create µs", "load before", "load after")
	for i, r := range interleave(c.Admin, c.RBAC) {
		cpu := "-"
		if r.Created > 0 {
			cpu = usText(r.ServerCPU / time.Duration(r.Created))
		}
		row(fmt.Sprint(i+1), r.Identity, fmt.Sprintf("%.0f", r.CreatesPerSec), msText(r.Create.P50), msText(r.Create.P99), cpu, r.LoadBefore, r.LoadAfter)
	}
	tw.Flush()

	v := judgeIdentities(summarize(c.Admin), summarize(c.RBAC))
	check := func(pass bool) string {
		if pass {
			return "ok"
		}
		return "MISS"
	}
	fmt.Fprintln(out, "medians:")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row = func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	row("metric", "system:masters", "RBAC user", "difference", "target", "")
	row("creates/s", fmt.Sprintf("%.0f", v.Admin.CreatesPerSec), fmt.Sprintf("%.0f", v.RB.CreatesPerSec),
		fmt.Sprintf("%+.1f%%", -100*v.RateLoss), fmt.Sprintf(">= -%.0f%%", 100*targetRBACRateLoss), check(v.RateOK))
	row("create p50 ms", msText(v.Admin.P50), msText(v.RB.P50), signedMs(v.AddedP50), "", "")
	row("create p99 ms", msText(v.Admin.P99), msText(v.RB.P99), signedMs(v.AddedP99), "<= +"+msText(targetRBACAddedP99), check(v.P99OK))
	row("server CPU/create µs", usText(v.Admin.CPUPerCreate), usText(v.RB.CPUPerCreate), fmt.Sprintf("%+.0f", float64(v.AddedCPU)/float64(time.Microsecond)), "", "")
	tw.Flush()
}

// interleave lists the runs in the order they were made (identityOrder).
func interleave(admin, rbac []*Result) []*Result {
	var out []*Result
	a, b := 0, 0
	for _, id := range identityOrder(max(len(admin), len(rbac))) {
		if id == IdentityAdmin && a < len(admin) {
			out = append(out, admin[a])
			a++
		} else if id == IdentityRBAC && b < len(rbac) {
			out = append(out, rbac[b])
			b++
		}
	}
	return out
}

func signedMs(d time.Duration) string { return fmt.Sprintf("%+.1f", ms(d)) }

func usText(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond)) }
