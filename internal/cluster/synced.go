package cluster

import (
	"context"
	"fmt"
	"time"
)

// waitSynced waits until a feed of the server's own watch cache holds
// what was stored when it started (an admission plugin's configurations),
// so that no write slips past them at start.
func waitSynced(ctx context.Context, synced <-chan struct{}, what string) error {
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case <-synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("load the %s: timed out", what)
	}
}
