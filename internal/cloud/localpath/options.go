package localpath

import (
	"log/slog"
	"time"
)

// Provisioner is the name StorageClasses give to have their volumes made
// here (the default class local-path's).
const Provisioner = "kemudi.io/local-path"

// Options configure one node's provisioner.
type Options struct {
	// NodeName is this node: only claims whose selected-node names it
	// are provisioned here.
	NodeName string
	// Dir holds the volumes' directories (<data-dir>/agent/storage); a
	// volume outside it is never deleted.
	Dir string
	// RetryStart and RetryMax bound the per-claim backoff after a
	// provisioning failure (upstream external-provisioner's
	// --retry-interval-start and --retry-interval-max: 1 s and 5 min).
	RetryStart, RetryMax time.Duration
	// CapacityPeriod is how often the node's free space is published
	// besides after each volume made, grown or deleted (upstream
	// external-provisioner's --capacity-poll-interval: 1 min).
	CapacityPeriod time.Duration
	// FreeBytes answers the free space of the filesystem holding dir
	// (nil: statfs).
	FreeBytes func(dir string) (uint64, error)
	Log       *slog.Logger
}

func (o *Options) defaults() {
	if o.RetryStart <= 0 {
		o.RetryStart = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.CapacityPeriod <= 0 {
		o.CapacityPeriod = time.Minute
	}
	if o.FreeBytes == nil {
		o.FreeBytes = statfsFree
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	o.Log = o.Log.With("component", "local-path")
}
