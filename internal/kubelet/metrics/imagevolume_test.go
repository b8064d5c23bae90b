package metrics

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// createConn answers CreateContainer with err.
type createConn struct {
	grpc.ClientConnInterface
	err error
}

func (c createConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error { return c.err }

// Image mounts of created containers count as requested, then mounted or
// failed by whether the runtime says ImageVolumeMountFailed.
func TestImageVolumeCounters(t *testing.T) {
	img := &runtimeapi.Mount{ContainerPath: "/tools", Image: &runtimeapi.ImageSpec{Image: "sha256:aaa"}, Readonly: true}
	plain := &runtimeapi.Mount{ContainerPath: "/data", HostPath: "/var/data"}
	for _, tc := range []struct {
		name                         string
		mounts                       []*runtimeapi.Mount
		err                          error
		requested, succeeded, failed float64
	}{
		{"no image mounts", []*runtimeapi.Mount{plain}, nil, 0, 0, 0},
		{"mounted", []*runtimeapi.Mount{img, plain, img}, nil, 2, 2, 0},
		{"mount failed", []*runtimeapi.Mount{img}, status.Error(codes.InvalidArgument, "create container c: ImageVolumeMountFailed: image_sub_path: \"x\" does not exist in the image"), 1, 0, 1},
		{"other failure", []*runtimeapi.Mount{img}, status.Error(codes.Unknown, "create container c: no space left on device"), 1, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New("n")
			req := &runtimeapi.CreateContainerRequest{Config: &runtimeapi.ContainerConfig{Mounts: tc.mounts}}
			_ = m.Instrument(createConn{err: tc.err}).Invoke(context.Background(), createContainerMethod, req, &runtimeapi.CreateContainerResponse{})
			for name, got := range map[string]float64{
				"requested": testutil.ToFloat64(m.imageVolumes.requested),
				"succeeded": testutil.ToFloat64(m.imageVolumes.succeeded),
				"failed":    testutil.ToFloat64(m.imageVolumes.failed),
			} {
				want := map[string]float64{"requested": tc.requested, "succeeded": tc.succeeded, "failed": tc.failed}[name]
				if got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		})
	}
	if n, err := testutil.GatherAndCount(New("n").Gatherer(), "kubelet_image_volume_requested_total", "kubelet_image_volume_mounted_succeed_total", "kubelet_image_volume_mounted_errors_total"); err != nil || n != 3 {
		t.Errorf("served image volume series: %d, %v; want 3", n, err)
	}
}
