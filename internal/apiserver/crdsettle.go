package apiserver

import "time"

// crdSettleDelay is how long the CRDs must stay unchanged before
// Config.CRDsSettled runs: a burst of installs (and the status updates
// that establish them) comes within it.
const crdSettleDelay = time.Second

// noteChange (called with crs.mu held, after the snapshot changed) runs
// settled once no further change comes for crdSettleDelay. Building the
// endpoints of 100 CRDs installed at once, validating them and answering
// their watchers allocates about 1.5 MiB a CRD, and the Go heap keeps
// what that grew to long after: an idle server's RSS stayed 20-30 MiB
// above what it holds live.
func (crs *customResources) noteChange() {
	if crs.settled == nil {
		return
	}
	if crs.settleTimer == nil {
		crs.settleTimer = time.AfterFunc(crdSettleDelay, crs.settled)
		return
	}
	crs.settleTimer.Reset(crdSettleDelay)
}
