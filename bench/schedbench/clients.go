package schedbench

import (
	"context"
	"fmt"
	"net"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const protobuf = "application/vnd.kubernetes.protobuf"

// newClient returns a protobuf clientset without a client-side rate
// limit on a connection of its own (a config with a Dial func gets its
// own transport), dialing loopback only.
func newClient(base *rest.Config, name string) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.UserAgent = "kemudi-schedbench/" + name
	cfg.ContentType = protobuf
	cfg.AcceptContentTypes = protobuf + ",application/json"
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("schedbench dials loopback only, not %s", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	return kubernetes.NewForConfig(cfg)
}
