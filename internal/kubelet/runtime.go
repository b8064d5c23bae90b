package kubelet

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/kubelet/metrics"
)

// Runtime is the CRI as the kubelet uses it: both services of a runtime.
type Runtime interface {
	runtimeapi.RuntimeServiceClient
	runtimeapi.ImageServiceClient
}

type criClients struct {
	runtimeapi.RuntimeServiceClient
	runtimeapi.ImageServiceClient
	conn grpc.ClientConnInterface
}

// maxMsgSize is upstream's limit for CRI messages (16 MiB).
const maxMsgSize = 16 << 20

// Dial connects to a CRI runtime at endpoint ("unix:///run/kemudi/cri.sock"
// or a plain socket path). The connection is lazy: a runtime that is not
// up yet (or restarts) is reconnected to by gRPC.
func Dial(endpoint string) (Runtime, func() error, error) {
	target := endpoint
	if strings.HasPrefix(target, "/") {
		target = "unix://" + target
	}
	if !strings.HasPrefix(target, "unix://") {
		return nil, nil, fmt.Errorf("runtime endpoint %q: only unix sockets are supported", endpoint)
	}
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize)))
	if err != nil {
		return nil, nil, fmt.Errorf("runtime endpoint %s: %w", endpoint, err)
	}
	return clientsOf(conn), conn.Close, nil
}

func clientsOf(conn grpc.ClientConnInterface) Runtime {
	return criClients{runtimeapi.NewRuntimeServiceClient(conn), runtimeapi.NewImageServiceClient(conn), conn}
}

// Instrument makes rt's calls count in m's kubelet_runtime_operations_*
// (upstream's instrumented runtime service). A runtime that is not a
// gRPC connection (a test's fake) is returned as it is.
func Instrument(rt Runtime, m *metrics.Metrics) Runtime {
	c, ok := rt.(criClients)
	if !ok || m == nil {
		return rt
	}
	return clientsOf(m.Instrument(c.conn))
}

// InProcess serves an in-process runtime to the kubelet over an in-memory
// connection (no socket file, no network): the same gRPC path, so the
// kubelet cannot tell it from a runtime on a socket. close stops it.
func InProcess(rs runtimeapi.RuntimeServiceServer, is runtimeapi.ImageServiceServer) (Runtime, func() error, error) {
	l := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxMsgSize), grpc.MaxSendMsgSize(maxMsgSize))
	runtimeapi.RegisterRuntimeServiceServer(srv, rs)
	runtimeapi.RegisterImageServiceServer(srv, is)
	go func() { _ = srv.Serve(l) }()
	conn, err := grpc.NewClient("passthrough:///in-process",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsgSize), grpc.MaxCallSendMsgSize(maxMsgSize)))
	if err != nil {
		srv.Stop()
		return nil, nil, fmt.Errorf("in-process runtime: %w", err)
	}
	return clientsOf(conn), func() error {
		err := conn.Close()
		srv.Stop()
		return err
	}, nil
}
