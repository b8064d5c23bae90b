package harness

import (
	"context"
	"io"
	"net"
	"net/url"
	"testing"

	"k8s.io/client-go/rest"
)

// RelayConfig points cfg at a listener on this process's loopback that
// relays each connection, both ways, to cfg's API server through dial
// (into a network namespace). client-go's WebSocket executor dials for
// itself, not through rest.Config.Dial, so a config that only sets Dial
// cannot stream. The TLS server name stays the API server's.
func RelayConfig(tb testing.TB, cfg *rest.Config, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	tb.Helper()
	u, err := url.Parse(cfg.Host)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go relay(l, dial, u.Host)
	if cfg.TLSClientConfig.ServerName == "" {
		cfg.TLSClientConfig.ServerName = u.Hostname()
	}
	u.Host = l.Addr().String()
	cfg.Host = u.String()
}

// relay copies each connection accepted on l to addr, both ways, until
// either side closes.
func relay(l net.Listener, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			up, err := dial(context.Background(), "tcp", addr)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}

// RelayFromNetns listens on addr inside the network namespace at
// netnsPath and relays each connection, both ways, to addr in this
// process's namespace: a process in the namespace (an upstream kubelet)
// reaches a server on this process's loopback at the same address, so
// the server's kubeconfig and certificate serve it unchanged.
func RelayFromNetns(tb testing.TB, netnsPath, addr string) {
	tb.Helper()
	var l net.Listener
	err := InNetns(netnsPath, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		tb.Fatalf("relay listener in %s: %v", netnsPath, err)
	}
	tb.Cleanup(func() { l.Close() })
	var d net.Dialer
	go relay(l, d.DialContext, addr)
}
