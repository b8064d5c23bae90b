package component

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// APIWaitTimeout is how long a standalone component waits for its API
// server to answer before it gives up.
const APIWaitTimeout = time.Minute

// WaitForAPI waits until the API server of cfg answers an authenticated
// request, retrying every second, and fails with the last error when
// timeout passes first: a component that cannot reach its API server
// says so and stops, instead of waiting silently forever.
func WaitForAPI(ctx context.Context, cfg *rest.Config, timeout time.Duration, log *slog.Logger) error {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 5 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	// Tries run on the caller's ctx (each bounded by cfg.Timeout), not
	// on the deadline: a try the deadline cut short would fail with a
	// rate limiter's "would exceed context deadline" instead of why the
	// server does not answer.
	deadline, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for tries := 1; ; tries++ {
		// /api needs credentials, unlike /version: a certificate the
		// server refuses fails here too.
		_, err = client.Discovery().RESTClient().Get().AbsPath("/api").DoRaw(ctx)
		if err == nil {
			return nil
		}
		if tries%10 == 1 {
			log.Warn("waiting for the API server", "server", cfg.Host, "err", err)
		}
		select {
		case <-deadline.Done():
			if ctx.Err() != nil {
				return nil // the caller stopped
			}
			return fmt.Errorf("API server %s did not answer within %s: %w", cfg.Host, timeout, err)
		case <-tick.C:
		}
	}
}
