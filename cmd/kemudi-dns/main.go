// Command kemudi-dns is `kemudi dns` built alone: the cluster DNS server
// and what it needs, without the rest of kemudi, so that it starts and
// stays small. kemudi embeds it and `kemudi dns` runs it (see
// internal/dns/dnsexe); it takes the same flags.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/kemudi/kemudi/internal/component"
	"github.com/kemudi/kemudi/internal/dns"
)

func main() {
	o := dns.DefaultStandaloneOptions()
	f := pflag.NewFlagSet("kemudi-dns", pflag.ContinueOnError)
	o.AddFlags(f)
	logLevel := f.String("log-level", "info", "log level: debug, info, warn, error")
	if err := f.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			return
		}
		os.Exit(2)
	}
	if f.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "Error: unexpected arguments %q\n", f.Args())
		os.Exit(2)
	}
	component.SetupLogging(*logLevel)
	ctx, stop := component.SignalContext(nil)
	defer stop()
	if err := dns.RunStandalone(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		stop()
		os.Exit(1)
	}
}
