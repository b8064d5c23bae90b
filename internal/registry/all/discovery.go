package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/discovery/endpointslice"
)

func discovery() []*registry.Resource {
	return []*registry.Resource{
		endpointslice.Resource(),
	}
}
