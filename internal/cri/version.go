package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime identity reported by Version.
const (
	runtimeName    = "kemudi"
	runtimeVersion = "0.1.0"
	// criVersion is the version field the kubelet expects of CRI v1.
	criVersion = "0.1.0"
)

// Version reports the runtime and the CRI version it speaks.
func (r *Runtime) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{
		Version:           criVersion,
		RuntimeName:       runtimeName,
		RuntimeVersion:    runtimeVersion,
		RuntimeApiVersion: "v1",
	}, nil
}
