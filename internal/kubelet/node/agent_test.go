package node

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// laterNetwork is a CRI runtime whose network becomes ready when the test
// says, with nothing else changing (a CNI configuration written after
// the kubelet started).
type laterNetwork struct{ ready atomic.Bool }

func (r *laterNetwork) Version(context.Context, *runtimeapi.VersionRequest, ...grpc.CallOption) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{RuntimeName: "test", RuntimeVersion: "1"}, nil
}

func (r *laterNetwork) Status(context.Context, *runtimeapi.StatusRequest, ...grpc.CallOption) (*runtimeapi.StatusResponse, error) {
	return &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true},
		{Type: runtimeapi.NetworkReady, Status: r.ready.Load(), Reason: "NoNetwork"},
	}}}, nil
}

func (r *laterNetwork) UpdateRuntimeConfig(context.Context, *runtimeapi.UpdateRuntimeConfigRequest, ...grpc.CallOption) (*runtimeapi.UpdateRuntimeConfigResponse, error) {
	return &runtimeapi.UpdateRuntimeConfigResponse{}, nil
}

func (r *laterNetwork) ListImages(context.Context, *runtimeapi.ListImagesRequest, ...grpc.CallOption) (*runtimeapi.ListImagesResponse, error) {
	return &runtimeapi.ListImagesResponse{}, nil
}

// A node whose runtime's network becomes ready after the kubelet started
// is Ready in well under a status interval, as upstream's kubelet polls
// its status at start until the node is Ready: before, `kemudi agent`'s
// node waited up to 10 s (the interval) for its Ready.
func TestReadySoonAfterStart(t *testing.T) {
	client := fake.NewClientset()
	rt := &laterNetwork{}
	a := New(Config{
		Name: "n1", Client: client, Runtime: rt, Recorder: record.NewFakeRecorder(100),
		MaxPods: 110, DataDir: t.TempDir(), KubeletVersion: "v1.37.2",
		StatusInterval: time.Hour, ReportInterval: time.Hour, LeaseInterval: time.Hour, LeaseDuration: 40,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- a.Run(ctx, ready) }()
	defer func() {
		cancel()
		<-done
	}()
	readyIs := func(want corev1.ConditionStatus, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			n, err := client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
			if err == nil {
				for _, c := range n.Status.Conditions {
					if c.Type == corev1.NodeReady && c.Status == want {
						return
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("node n1 not Ready=%s within %v (%v): %+v", want, within, err, n.Status.Conditions)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	readyIs(corev1.ConditionFalse, 5*time.Second)
	rt.ready.Store(true)
	readyIs(corev1.ConditionTrue, 2*time.Second)
}
