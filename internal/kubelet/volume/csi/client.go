package csi

import (
	"context"
	"fmt"
	"strings"
	"time"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// callTimeout bounds one call to a driver (upstream's csiTimeout is 2 min
// for mounts; registration calls get less).
const callTimeout = 2 * time.Minute

// client is a connection to a driver's CSI endpoint (a unix socket).
type client struct {
	conn *grpc.ClientConn
	node csipb.NodeClient
}

// dial connects to a unix socket path, given bare or as unix://path.
func dial(endpoint string) (*grpc.ClientConn, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(endpoint, "unix://"), "unix:")
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", endpoint, err)
	}
	return conn, nil
}

func newClient(endpoint string) (*client, error) {
	conn, err := dial(endpoint)
	if err != nil {
		return nil, err
	}
	return &client{conn: conn, node: csipb.NewNodeClient(conn)}, nil
}

func (c *client) Close() error { return c.conn.Close() }

// capabilities are the driver's node service capabilities the kubelet
// acts on.
type capabilities struct {
	stageUnstage bool
}

func (c *client) capabilities(ctx context.Context) (capabilities, error) {
	resp, err := c.node.NodeGetCapabilities(ctx, &csipb.NodeGetCapabilitiesRequest{})
	if err != nil {
		return capabilities{}, fmt.Errorf("NodeGetCapabilities: %w", err)
	}
	var caps capabilities
	for _, cp := range resp.GetCapabilities() {
		if cp.GetRpc().GetType() == csipb.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME {
			caps.stageUnstage = true
		}
	}
	return caps, nil
}
