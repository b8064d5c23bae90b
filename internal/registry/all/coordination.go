package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/coordination/lease"
)

func coordination() []*registry.Resource {
	return []*registry.Resource{
		lease.Resource(),
	}
}
