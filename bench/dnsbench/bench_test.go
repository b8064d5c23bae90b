package dnsbench

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kemudi/kemudi/bench/harness"
)

// BenchmarkDNS runs the dnsperf benchmark (see the package documentation):
// use -benchtime 1x and -v. KEMUDI_BENCH_DNS_SERVICES,
// KEMUDI_BENCH_DNS_RATE and KEMUDI_BENCH_DNS_SETTLE (seconds) size it.
func BenchmarkDNS(b *testing.B) {
	if _, err := exec.LookPath("dnsperf"); err != nil {
		b.Skip("dnsperf is not installed (apt-get install dnsperf)")
	}
	var opts Options
	settle := 0
	if err := harness.EnvInts(map[string]*int{"KEMUDI_BENCH_DNS_SERVICES": &opts.Services, "KEMUDI_BENCH_DNS_RATE": &opts.Rate,
		"KEMUDI_BENCH_DNS_SETTLE": &settle}); err != nil {
		b.Fatal(err)
	}
	opts.Settle = time.Duration(settle) * time.Second
	opts.Server.TempRoot = os.Getenv("KEMUDI_BENCH_TMPDIR")
	opts.Progress = os.Stderr
	// `kemudi dns` writes out the kemudi-dns it runs there, not in the
	// machine's /var/cache/kemudi.
	b.Setenv("XDG_CACHE_HOME", b.TempDir())
	var res *Result
	var err error
	for range b.N {
		if res, err = Run(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
	var table strings.Builder
	res.Print(&table)
	b.Log("\n" + table.String())
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(res.QPSPerCore, "qps/core")
	b.ReportMetric(float64(res.P99.Microseconds()), "p99-µs")
	b.ReportMetric(harness.MiB(res.Memory.RSS), "rss-MiB")
	b.ReportMetric(harness.MiB(res.Rest.RSS), "rest-rss-MiB")
}
