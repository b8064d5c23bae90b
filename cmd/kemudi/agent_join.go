package main

import (
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/kemudi/kemudi/internal/component"

	"github.com/spf13/cobra"

	"github.com/kemudi/kemudi/internal/cluster"
)

// runJoined runs a node that joins by token: it gets (or reuses) its
// client certificate through TLS bootstrapping, then runs as
// system:node:<name>, renewing the certificate as it runs.
func runJoined(cmd *cobra.Command, kubeconfig, dataDir string, join cluster.JoinOptions, o cluster.AgentOptions) error {
	if kubeconfig != "" {
		return errors.New("--kubeconfig and --server/--token-file are two ways to reach the API: give one")
	}
	if join.Server == "" || join.TokenFile == "" {
		return errors.New("joining by token needs both --server and --token-file")
	}
	if o.Kubelet.NodeName == "" {
		host, err := os.Hostname()
		if err != nil {
			return err
		}
		o.Kubelet.NodeName = strings.ToLower(host)
	}
	join.NodeName, join.DataDir, join.Log = o.Kubelet.NodeName, dataDir, slog.Default()
	ctx, stop := component.SignalContext(cmd.Context())
	defer stop()
	cfg, err := cluster.Join(ctx, join)
	if err != nil {
		return err
	}
	// The runtime pulls from the server's registry with the node's
	// certificate, and by the server's 127.0.0.1:5000 names.
	if err := cluster.JoinedNodeRegistries(&o, dataDir, join.Server, cfg); err != nil {
		return err
	}
	// The certificate is renewed while the node runs; its components
	// present the current one.
	cert, err := cluster.JoinedNodeClientCert(cfg, dataDir, o.Kubelet.NodeName, slog.Default())
	if err != nil {
		return err
	}
	go cert.Run(ctx)
	o.ClusterCA = cert.CA()
	o.Kubelet.Log = slog.Default()
	return cluster.RunAgent(ctx, cert.Config(), o)
}
