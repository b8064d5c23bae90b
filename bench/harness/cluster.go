package harness

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kemudi/kemudi/internal/simnode"
)

// Cluster is a server with simulated nodes (internal/simnode, in this
// process, silent) as its kubelets, an admin client, and a namespace
// for a benchmark's objects.
type Cluster struct {
	Server *Server
	Nodes  *simnode.Nodes
	Client kubernetes.Interface

	stopNodes context.CancelFunc
}

// StartCluster starts the server, registers nodes simulated nodes and
// creates namespace ns; progress, if set, is told of each step. On
// error nothing is left running. Callers defer Close.
func StartCluster(ctx context.Context, opts Options, nodes int, ns string, progress func(format string, args ...any)) (_ *Cluster, err error) {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	progress("starting kemudi server")
	srv, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Cluster{Server: srv, stopNodes: cancel}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	progress("registering %d simulated nodes", nodes)
	sim, err := simnode.NewForConfig(srv.Config, simnode.Options{Count: nodes, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	if err := sim.Start(ctx); err != nil {
		return nil, err
	}
	c.Nodes = sim
	if c.Client, err = kubernetes.NewForConfig(srv.Config); err != nil {
		return nil, err
	}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	return c, nil
}

// Close stops the nodes, waits for them, then ends the server as
// Server.Close does.
func (c *Cluster) Close() {
	c.stopNodes()
	if c.Nodes != nil {
		c.Nodes.Wait()
	}
	c.Server.Close()
}
