package cri

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/exepages"
)

// maxMsgSize matches the kubelet's CRI client limit (16 MiB), so that
// large lists fit.
const maxMsgSize = 16 << 20

// Serve answers the CRI v1 RuntimeService and ImageService on l until ctx
// ends.
func (r *Runtime) Serve(ctx context.Context, l net.Listener) error {
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxMsgSize), grpc.MaxSendMsgSize(maxMsgSize))
	runtimeapi.RegisterRuntimeServiceServer(srv, r)
	runtimeapi.RegisterImageServiceServer(srv, r)
	srv.RegisterService(&imagesService, r)
	srv.RegisterService(&buildService, r)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			srv.GracefulStop()
		case <-done:
		}
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve CRI: %w", err)
	}
	return nil
}

// Listen opens a unix socket only root can use at path, replacing a stale
// one left by a crash.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	return l, nil
}

// Run is `kemudi runtime`: the runtime served on a unix socket at listen
// until ctx ends. Containers keep running after it returns.
func Run(ctx context.Context, opts Options, listen string) error {
	r, err := New(ctx, opts)
	if err != nil {
		return err
	}
	defer r.Close()
	l, err := Listen(listen)
	if err != nil {
		return err
	}
	defer os.Remove(listen)
	// What only start-up touched (the whole binary's package
	// initialisation, kubectl's above all) need not stay resident, nor
	// what a burst of work (a pull, pods started) leaves behind.
	if n, err := exepages.Release(); err != nil {
		r.log.Warn("release start-up pages", "err", err)
	} else {
		r.log.Debug("released start-up pages", "bytes", n)
	}
	go exepages.TrimWhenIdle(ctx, r.log)
	r.log.Info("serving CRI", "socket", listen)
	return r.Serve(ctx, l)
}
