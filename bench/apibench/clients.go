package apibench

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const protobuf = "application/vnd.kubernetes.protobuf"

// client is one client-go clientset on a connection of its own.
type client struct {
	kubernetes.Interface
	// dials counts the TCP connections it opened.
	dials atomic.Int32
}

// newClient returns a clientset that shares nothing with any other: its
// own Dial func makes client-go's transport cache key unique (a config
// with a Dial func is never shared), so it gets its own http.Transport
// and so its own TCP (and HTTP/2) connection.
func newClient(base *rest.Config, name string, useProtobuf bool, warnings *atomic.Int64) (*client, error) {
	c := &client{}
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limit
	cfg.UserAgent = "kemudi-apibench/" + name
	if useProtobuf {
		cfg.ContentType = protobuf
		cfg.AcceptContentTypes = protobuf + ",application/json"
	}
	cfg.WarningHandler = countWarnings{warnings}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("apibench dials loopback only, not %s", addr)
		}
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			c.dials.Add(1)
		}
		return conn, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.Interface = cs
	return c, nil
}

// countWarnings counts the API's Warning headers instead of logging them.
type countWarnings struct{ n *atomic.Int64 }

func (w countWarnings) HandleWarningHeader(code int, agent, text string) {
	if code == 299 {
		w.n.Add(1)
	}
}
