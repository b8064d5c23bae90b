package cri

import "google.golang.org/grpc/status"

func grpcCode(err error) string {
	s, _ := status.FromError(grpcError(err))
	return s.Code().String()
}
