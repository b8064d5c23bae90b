package main

import (
	"errors"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/kemudi/kemudi/internal/component"
	"github.com/kemudi/kemudi/internal/dns"
	"github.com/kemudi/kemudi/internal/dns/dnsexe"
)

func newDNSCommand() *cobra.Command {
	o := dns.DefaultStandaloneOptions()
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Run cluster DNS alone, against any API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// As kemudi-dns, the same server without the rest of kemudi
			// in its memory; this process serves only when kemudi has
			// no kemudi-dns or cannot run it. Either checks the options.
			err := dnsexe.Exec(cmd.Flags())
			if !errors.Is(err, dnsexe.ErrNotEmbedded) {
				slog.Warn("serving DNS from kemudi itself, with more memory than kemudi-dns needs", "err", err)
			}
			ctx, stop := component.SignalContext(cmd.Context())
			defer stop()
			return dns.RunStandalone(ctx, o)
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
