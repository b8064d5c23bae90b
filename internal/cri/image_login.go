package cri

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// The runtime checks credentials for `kemudi image login`, so that the
// check trusts what the node's pulls and pushes trust (its registries
// config's CAs): imagesService.Login takes an AuthConfig whose
// ServerAddress is the registry host and answers Empty, or Unauthenticated
// when the registry refuses the credentials.
const loginMethod = "/kemudi.runtime.v1.Images/Login"

type imageLoginer interface {
	Login(ctx context.Context, host string, auth *image.Auth) error
}

// LoginRegistry checks auth against the registry auth.ServerAddress names,
// for in-process callers.
func (r *Runtime) LoginRegistry(ctx context.Context, auth *runtimeapi.AuthConfig) error {
	host := auth.GetServerAddress()
	if host == "" {
		return grpcError(invalidArg("server_address", "must name the registry"))
	}
	l, ok := r.images.(imageLoginer)
	if !ok {
		return grpcError(fmt.Errorf("login: %w", errUnimplemented))
	}
	if err := l.Login(ctx, host, imageAuth(auth)); err != nil {
		return grpcError(err)
	}
	return nil
}

func (r *Runtime) serveLogin(ctx context.Context, req *runtimeapi.AuthConfig) (*emptypb.Empty, error) {
	if err := r.LoginRegistry(ctx, req); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// LoginOver asks the runtime behind conn to check auth against the
// registry auth.ServerAddress names.
func LoginOver(ctx context.Context, conn *grpc.ClientConn, auth *runtimeapi.AuthConfig) error {
	return conn.Invoke(ctx, loginMethod, auth, &emptypb.Empty{})
}
