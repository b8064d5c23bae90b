package apf

import (
	"math"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"

	"github.com/kemudi/kemudi/internal/registry/flowcontrol"
)

// ServerConcurrencyLimit is the concurrency upstream divides among the
// priority levels by default: --max-requests-inflight 400 plus
// --max-mutating-requests-inflight 200.
const ServerConcurrencyLimit = 600

// NominalLimits returns each level's nominal concurrency limit in seats,
// by name, as upstream computes it: the server's limit divided in
// proportion to the levels' nominalConcurrencyShares, rounded up. The
// mandatory levels count when missing, as upstream supplies them.
func NominalLimits(levels []*flowcontrolv1.PriorityLevelConfiguration, serverLimit int) map[string]int {
	shares := make(map[string]int32, len(levels)+2)
	for _, pl := range levels {
		shares[pl.Name] = nominalShares(pl)
	}
	for _, name := range []string{flowcontrolv1.PriorityLevelConfigurationNameExempt, flowcontrolv1.PriorityLevelConfigurationNameCatchAll} {
		if _, ok := shares[name]; !ok {
			shares[name] = nominalShares(flowcontrol.MandatoryPriorityLevel(name))
		}
	}
	var sum float64
	for _, s := range shares {
		sum += float64(s)
	}
	out := make(map[string]int, len(shares))
	for name, s := range shares {
		if sum > 0 {
			out[name] = int(math.Ceil(float64(serverLimit) * float64(s) / sum))
		} else {
			out[name] = 0
		}
	}
	return out
}

func nominalShares(pl *flowcontrolv1.PriorityLevelConfiguration) int32 {
	var s *int32
	switch {
	case pl.Spec.Limited != nil:
		s = pl.Spec.Limited.NominalConcurrencyShares
	case pl.Spec.Exempt != nil:
		s = pl.Spec.Exempt.NominalConcurrencyShares
	}
	if s == nil {
		return 0
	}
	return *s
}
