package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kemudi/kemudi/internal/cluster"
)

// newCertificateCommand is `kemudi certificate`: the certificates the
// server generated.
func newCertificateCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "certificate", Short: "Inspect the certificates in the data dir"}
	var dataDir string
	check := &cobra.Command{
		Use:   "check",
		Short: "List every certificate under the data dir with its expiry (as kubeadm certs check-expiration)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCertificateCheck(cmd.OutOrStdout(), dataDir, time.Now())
		},
	}
	check.Flags().StringVar(&dataDir, "data-dir", cluster.DefaultServerOptions().DataDir, "the server's data dir")
	cmd.AddCommand(check)
	return cmd
}

// runCertificateCheck prints the table; it fails only when a certificate
// file cannot be read (an expired certificate is a row, not an error).
func runCertificateCheck(w io.Writer, dataDir string, now time.Time) error {
	certs, err := cluster.CheckCertificates(dataDir)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "CERTIFICATE\tSUBJECT\tEXPIRES\tRESIDUAL TIME\tCERTIFICATE AUTHORITY\tAUTO-RENEWED")
	var bad []error
	for _, c := range certs {
		if c.Err != nil {
			fmt.Fprintf(tw, "%s\t<unreadable: %v>\t\t\t\t\n", c.Name, c.Err)
			bad = append(bad, fmt.Errorf("%s: %w", c.Name, c.Err))
			continue
		}
		renew := "no"
		if c.AutoRenew {
			renew = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Cert.Subject.CommonName,
			c.Cert.NotAfter.UTC().Format(time.RFC3339), cluster.Residual(c.Cert, now), c.CA, renew)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("unreadable certificates: %w", errors.Join(bad...))
	}
	return nil
}
