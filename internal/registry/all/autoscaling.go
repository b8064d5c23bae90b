package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/autoscaling/horizontalpodautoscaler"
)

func autoscaling() []*registry.Resource {
	return []*registry.Resource{
		horizontalpodautoscaler.Resource(),
		// A view of v2's storage; after v2, which discovery prefers.
		horizontalpodautoscaler.V1Resource(),
	}
}
