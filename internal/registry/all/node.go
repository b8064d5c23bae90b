package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/node/runtimeclass"
)

func nodeGroup() []*registry.Resource {
	return []*registry.Resource{
		runtimeclass.Resource(),
	}
}
