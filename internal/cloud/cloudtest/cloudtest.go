// Package cloudtest runs the cloud controller manager in tests.
package cloudtest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	cloudprovider "k8s.io/cloud-provider"

	"github.com/kemudi/kemudi/internal/cloud"
)

// Run runs the cloud controller manager against cfg, without leader
// election and with short periods, with the provider the options name
// (or p), until the test ends. modify, if set, changes the options.
func Run(t testing.TB, cfg *rest.Config, p cloudprovider.Interface, modify func(*cloud.Options)) {
	t.Helper()
	o := cloud.DefaultOptions()
	o.LeaderElect = false
	o.NodeMonitorPeriod = 200 * time.Millisecond
	o.RouteReconciliationPeriod = time.Second
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if modify != nil {
		modify(&o)
	}
	if p == nil {
		var err error
		if p, err = cloud.NewProvider(o); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := cloud.RunProvider(ctx, cfg, p, o); err != nil && ctx.Err() == nil {
			t.Errorf("cloud controller manager: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}
