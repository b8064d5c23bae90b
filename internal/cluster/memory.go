package cluster

import (
	"runtime/debug"

	"github.com/kemudi/kemudi/internal/exepages"
)

// ReleaseStartupPages drops what start-up alone touched: see
// exepages.Release.
func ReleaseStartupPages() (released int64, err error) { return exepages.Release() }

// crdsSettled is what the API server runs once CRD installs settle: in
// the server process, return their garbage to the system (a forced
// collection, then every free page); the heap had grown to twice what
// the burst held live, and an idle process would keep it. Not in tests,
// where many servers share one process.
func crdsSettled(opts ServerOptions) func() {
	if !opts.ReleaseStartupPages {
		return nil
	}
	return debug.FreeOSMemory
}
