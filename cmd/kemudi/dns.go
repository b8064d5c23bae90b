package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/dns"
	"github.com/kemudi/kemudi/internal/exepages"
)

func newDNSCommand() *cobra.Command {
	o := dns.DefaultOptions()
	var kubeconfig, pods string
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Run cluster DNS alone, against any API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Pods = dns.PodMode(pods)
			if err := o.Validate(); err != nil {
				return err
			}
			lowerGCHeadroom()
			var trim sync.Once
			return runSupervised(cmd, kubeconfig, func(ctx context.Context, cfg *rest.Config) error {
				o.Log = slog.Default()
				o.Started = func([]string, string) {
					releaseStartupPages(o.Log)
					// After a burst of questions, what it grew by goes back
					// once it is quiet again, as after start-up.
					trim.Do(func() { go exepages.TrimWhenIdle(cmd.Context(), o.Log) })
				}
				return dns.Run(ctx, cfg, o)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server")
	f.StringSliceVar(&o.Listen, "listen", o.Listen, "address to serve DNS on, UDP and TCP (repeat for several, e.g. 10.43.0.10:53)")
	f.StringVar(&o.ClusterDomain, "cluster-domain", o.ClusterDomain, "zone of the cluster's records")
	f.StringVar(&o.UpstreamResolvConf, "upstream-resolv-conf", o.UpstreamResolvConf, "resolv.conf whose nameservers answer other names")
	f.StringSliceVar(&o.Upstreams, "upstream", nil, "upstream resolver host:port (repeat; overrides --upstream-resolv-conf)")
	f.StringVar(&o.HTTPAddress, "http-address", o.HTTPAddress, "address of /health, /ready and /metrics (empty: off)")
	f.DurationVar(&o.TTL, "ttl", o.TTL, "TTL of cluster records")
	f.StringVar(&pods, "pods", string(o.Pods), "pod records: insecure (any a-b-c-d.<ns>.pod name) or disabled")
	f.IntVar(&o.CacheSize, "cache-size", o.CacheSize, "entries of the forwarding cache")
	f.IntVar(&o.MaxConcurrentForwards, "max-concurrent-forwards", o.MaxConcurrentForwards, "questions in flight to the upstream resolvers")
	return cmd
}

// releaseStartupPages gives back, once DNS serves, what only start-up
// touched: the first lists' garbage and the executable's pages of every
// other role (most of the binary: Go initialises every package).
// Serving faults back the few it uses.
func releaseStartupPages(log *slog.Logger) {
	n, err := cluster.ReleaseStartupPages()
	if err != nil {
		log.Warn("release start-up pages", "err", err)
		return
	}
	log.Debug("released start-up pages", "bytes", n)
}

// dnsGCPercent is `kemudi dns`'s GOGC. The server holds little (a compact
// form of each Service) and makes a few hundred bytes of garbage per
// query: at Go's default of 100 its heap grew under load to twice what
// it holds, and was most of its memory. Half that headroom costs a few
// percent of CPU (bench/dnsbench).
const dnsGCPercent = 50

// lowerGCHeadroom sets dnsGCPercent unless the user set GOGC.
func lowerGCHeadroom() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(dnsGCPercent)
	}
}
