package cri

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// errFailedPrecondition marks an object in the wrong state for a verb.
var errFailedPrecondition = errors.New("failed precondition")

func failedPrecondition(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errFailedPrecondition, fmt.Sprintf(format, args...))
}

// errUnimplemented marks a feature this runtime does not have.
var errUnimplemented = errors.New("not implemented")

// grpcError turns an error into the status a CRI client expects; what and
// why stay in the message.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var inv *invalidArgumentError
	code := codes.Unknown
	switch {
	case errors.As(err, &inv), errors.Is(err, image.ErrInvalidReference), errors.Is(err, supervisor.ErrInvalidArgument):
		code = codes.InvalidArgument
	case errors.Is(err, errNotFound), errors.Is(err, image.ErrNotFound), errors.Is(err, supervisor.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, errAmbiguous), errors.Is(err, image.ErrAmbiguous):
		code = codes.InvalidArgument
	case errors.Is(err, errFailedPrecondition), errors.Is(err, supervisor.ErrFailedPrecondition):
		code = codes.FailedPrecondition
	case errors.Is(err, image.ErrUnauthorized):
		code = codes.Unauthenticated
	case errors.Is(err, errAlreadyExists), errors.Is(err, image.ErrAlreadyExists), errors.Is(err, supervisor.ErrAlreadyExists):
		code = codes.AlreadyExists
	case errors.Is(err, errUnimplemented):
		code = codes.Unimplemented
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

func isNotFound(err error) bool {
	return errors.Is(err, errNotFound) || errors.Is(err, image.ErrNotFound) || errors.Is(err, supervisor.ErrNotFound)
}
