package streambench

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// BenchmarkStream prints one table of the figures; run it once
// (-benchtime 1x).
func BenchmarkStream(b *testing.B) {
	execs := 200
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_EXECS": &execs}); err != nil {
		b.Fatal(err)
	}
	runtimes := []string{"kemudi", "containerd", "upstream"}
	if v := os.Getenv("KEMUDI_BENCH_RUNTIMES"); v != "" {
		runtimes = strings.Split(v, ",")
	}
	profiles := os.Getenv("KEMUDI_BENCH_PROFILE_DIR")
	var results []Result
	for _, rt := range runtimes {
		b.Run(rt, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			n := startNode(b, rt)
			if err := n.makePods(ctx); err != nil {
				b.Fatal(err)
			}
			r, err := measure(ctx, n, execs, profiles)
			if err != nil {
				b.Fatal(err)
			}
			results = append(results, r)
		})
	}
	printResults(os.Stdout, results)
}

// measure takes every figure of one node: each stream over WebSocket
// (kubectl's default) and over SPDY.
func measure(ctx context.Context, n *node, execs int, profiles string) (Result, error) {
	r := Result{Runtime: n.name, Execs: execs, LoadBefore: harness.LoadAvg()}
	wait := n.profile(ctx, profiles, "exec", 20*time.Second)
	d, err := n.execKubectl(ctx, execs)
	wait()
	if err != nil {
		return r, err
	}
	r.KubectlP50, r.KubectlP99 = pct(d, 50), pct(d, 99)
	fmt.Printf("%s: kubectl exec p50 %s p99 %s (load %s)\n", n.name, r.KubectlP50, r.KubectlP99, harness.LoadAvg())
	if d, err = n.execKubectl(ctx, execs, "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"); err != nil {
		return r, err
	}
	r.KubectlSPDYP50, r.KubectlSPDYP99 = pct(d, 50), pct(d, 99)
	fmt.Printf("%s: kubectl exec (SPDY) p50 %s p99 %s (load %s)\n", n.name, r.KubectlSPDYP50, r.KubectlSPDYP99, harness.LoadAvg())
	if d, err = n.getKubectl(ctx, execs); err != nil {
		return r, err
	}
	r.KubectlGetP50, r.KubectlGetP99 = pct(d, 50), pct(d, 99)
	fmt.Printf("%s: kubectl get pod p50 %s p99 %s (load %s)\n", n.name, r.KubectlGetP50, r.KubectlGetP99, harness.LoadAvg())
	before := n.cpuNow()
	if d, err = n.execClientGo(ctx, execs, false); err != nil {
		return r, err
	}
	r.ExecCPU = n.cpuNow().per(before, execs+1, 1) // and the one that chose the protocol
	r.ClientGoP50, r.ClientGoP99 = pct(d, 50), pct(d, 99)
	r.SPDY = n.spdy
	fmt.Printf("%s: client-go exec p50 %s p99 %s, SPDY %v, CPU an exec server / runtime / client %s (load %s)\n", n.name, r.ClientGoP50, r.ClientGoP99, r.SPDY, r.ExecCPU, harness.LoadAvg())
	if d, err = n.execClientGo(ctx, execs, true); err != nil {
		return r, err
	}
	r.ClientGoSPDYP50, r.ClientGoSPDYP99 = pct(d, 50), pct(d, 99)
	fmt.Printf("%s: client-go exec (SPDY) p50 %s p99 %s (load %s)\n", n.name, r.ClientGoSPDYP50, r.ClientGoSPDYP99, harness.LoadAvg())
	wait = n.profile(ctx, profiles, "port-forward", 10*time.Second)
	r.ForwardMiBs, r.ForwardCPU, err = n.forward(ctx, 3)
	wait()
	if err != nil {
		return r, err
	}
	fmt.Printf("%s: port-forward %.0f MiB/s, CPU a GiB server / runtime / kubectl %s (load %s)\n", n.name, r.ForwardMiBs, r.ForwardCPU, harness.LoadAvg())
	if r.ForwardSPDYMiBs, r.ForwardSPDYCPU, err = n.forward(ctx, 3, "KUBECTL_PORT_FORWARD_WEBSOCKETS=false"); err != nil {
		return r, err
	}
	fmt.Printf("%s: port-forward (SPDY) %.0f MiB/s, CPU a GiB server / runtime / kubectl %s (load %s)\n", n.name, r.ForwardSPDYMiBs, r.ForwardSPDYCPU, harness.LoadAvg())
	wait = n.profile(ctx, profiles, "logs", 10*time.Second)
	r.LogsMiBs, r.LogBytes, err = n.logs(ctx, 3)
	wait()
	if err != nil {
		return r, err
	}
	if r.ClientGoLogsMiBs, err = n.logsClientGo(ctx, 3); err != nil {
		return r, err
	}
	r.KubectlCeilingMiBs, err = kubectlLogsCeiling(ctx, n.bin, 3)
	r.LoadAfter = harness.LoadAvg()
	return r, err
}

// printResults prints the runtimes side by side, with the targets.
func printResults(w io.Writer, rs []Result) {
	if len(rs) == 0 {
		return
	}
	row := func(label, target string, cell func(Result) string) {
		fmt.Fprintf(w, "%-58s", label)
		for _, r := range rs {
			fmt.Fprintf(w, " %-22s", cell(r))
		}
		fmt.Fprintf(w, " %s\n", target)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	row("kubelet on runtime", "target", func(r Result) string { return columnTitle(r.Runtime) })
	row(fmt.Sprintf("kubectl exec -- true, p50 / p99 (%d runs)", rs[0].Execs), "p99 ≤ 50 ms",
		func(r Result) string { return ms(r.KubectlP50) + " / " + ms(r.KubectlP99) })
	row("  same over SPDY (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)", "",
		func(r Result) string { return ms(r.KubectlSPDYP50) + " / " + ms(r.KubectlSPDYP99) })
	row("  kubectl get pod (kubectl's start and one GET: its floor)", "",
		func(r Result) string { return ms(r.KubectlGetP50) + " / " + ms(r.KubectlGetP99) })
	row("  through client-go (WebSocket, or SPDY*)", "", func(r Result) string {
		s := ms(r.ClientGoP50) + " / " + ms(r.ClientGoP99)
		if r.SPDY {
			s += "*"
		}
		return s
	})
	row("  CPU an exec: server / runtime / client-go", "",
		func(r Result) string { return r.ExecCPU.String() })
	row("  through client-go over SPDY", "",
		func(r Result) string { return ms(r.ClientGoSPDYP50) + " / " + ms(r.ClientGoSPDYP99) })
	row(fmt.Sprintf("kubectl port-forward, GET %d MiB (WebSocket)", bigFileMiB), "≥ 200 MiB/s",
		func(r Result) string { return fmt.Sprintf("%.0f MiB/s", r.ForwardMiBs) })
	row("  same over SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)", "",
		func(r Result) string { return fmt.Sprintf("%.0f MiB/s", r.ForwardSPDYMiBs) })
	row("  CPU a GiB: server / runtime / kubectl (WebSocket)", "",
		func(r Result) string { return r.ForwardCPU.String() })
	row("  CPU a GiB: server / runtime / kubectl (SPDY)", "",
		func(r Result) string { return r.ForwardSPDYCPU.String() })
	row(fmt.Sprintf("kubectl logs of %d MiB", logMiB), "≥ 200 MiB/s",
		func(r Result) string { return fmt.Sprintf("%.0f MiB/s", r.LogsMiBs) })
	row("  same through client-go, no kubectl (its write(2) a line)", "",
		func(r Result) string { return fmt.Sprintf("%.0f MiB/s", r.ClientGoLogsMiBs) })
	row("  kubectl logs served from memory (kubectl's own ceiling)", "",
		func(r Result) string { return fmt.Sprintf("%.0f MiB/s", r.KubectlCeilingMiBs) })
	row("load average before", "", func(r Result) string { return r.LoadBefore })
	row("load average after", "", func(r Result) string { return r.LoadAfter })
	fmt.Fprintln(w, "(2 shared cores: figures are noisy; the server is kemudi's API server in every column)")
}

// columnTitle says which kubelet runs on which runtime.
func columnTitle(column string) string {
	switch column {
	case "kemudi":
		return "kemudi on kemudi"
	case "containerd":
		return "kemudi on containerd"
	case "upstream":
		return "upstream on containerd"
	}
	return column
}
