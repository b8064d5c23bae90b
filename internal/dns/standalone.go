package dns

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/kemudi/kemudi/internal/component"
	"github.com/kemudi/kemudi/internal/exepages"
)

// StandaloneOptions are those of DNS as a process of its own (`kemudi
// dns`, which runs cmd/kemudi-dns when kemudi embeds it).
type StandaloneOptions struct {
	Options
	Kubeconfig string
}

// DefaultStandaloneOptions are the flags' defaults.
func DefaultStandaloneOptions() StandaloneOptions {
	return StandaloneOptions{Options: DefaultOptions()}
}

// AddFlags defines the flags of `kemudi dns` and kemudi-dns on f: the
// same in both, so that the one can hand its command line to the other.
func (o *StandaloneOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig of the API server")
	f.StringSliceVar(&o.Listen, "listen", o.Listen, "address to serve DNS on, UDP and TCP (repeat for several, e.g. 10.43.0.10:53)")
	f.StringVar(&o.ClusterDomain, "cluster-domain", o.ClusterDomain, "zone of the cluster's records")
	f.StringVar(&o.UpstreamResolvConf, "upstream-resolv-conf", o.UpstreamResolvConf, "resolv.conf whose nameservers answer other names")
	f.StringSliceVar(&o.Upstreams, "upstream", nil, "upstream resolver host:port (repeat; overrides --upstream-resolv-conf)")
	f.StringVar(&o.HTTPAddress, "http-address", o.HTTPAddress, "address of /health, /ready and /metrics (empty: off)")
	f.DurationVar(&o.TTL, "ttl", o.TTL, "TTL of cluster records")
	f.StringVar((*string)(&o.Pods), "pods", string(o.Pods), "pod records: insecure (any a-b-c-d.<ns>.pod name) or disabled")
	f.IntVar(&o.CacheSize, "cache-size", o.CacheSize, "entries of the forwarding cache")
	f.IntVar(&o.MaxConcurrentForwards, "max-concurrent-forwards", o.MaxConcurrentForwards, "questions in flight to the upstream resolvers")
}

// standaloneGCPercent is a standalone DNS's GOGC. The server holds
// little (a compact form of each Service) and makes a few hundred bytes
// of garbage per query: at Go's default of 100 its heap grew under load
// to twice what it holds, and was most of its memory. Half that headroom
// costs a few percent of CPU (bench/dnsbench).
const standaloneGCPercent = 50

// RunStandalone serves DNS as a process of its own until ctx ends:
// against the API server of o.Kubeconfig (in-cluster when empty), under
// a supervisor that restarts it, with little memory kept: GOGC
// standaloneGCPercent unless the user set GOGC, the start-up's pages
// given back once it serves, and a burst's once it is quiet again.
func RunStandalone(ctx context.Context, o StandaloneOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	cfg, err := component.LoadKubeconfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(standaloneGCPercent)
	}
	var trim sync.Once
	return component.RunSupervised(ctx, "dns", cfg, func(runCtx context.Context, cfg *rest.Config) error {
		opts := o.Options
		opts.Log = slog.Default()
		opts.Started = func([]string, string) {
			releaseStartupPages(opts.Log)
			trim.Do(func() { go exepages.TrimWhenIdle(ctx, opts.Log) })
		}
		return Run(runCtx, cfg, opts)
	})
}

// releaseStartupPages gives back, once DNS serves, what only start-up
// touched: the first lists' garbage and the executable's pages that
// serving does not use. Serving faults back the few it uses.
func releaseStartupPages(log *slog.Logger) {
	n, err := exepages.Release()
	if err != nil {
		log.Warn("release start-up pages", "err", err)
		return
	}
	log.Debug("released start-up pages", "bytes", n)
}
