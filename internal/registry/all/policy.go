package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/policy/poddisruptionbudget"
)

func policy() []*registry.Resource {
	return []*registry.Resource{
		poddisruptionbudget.Resource(),
	}
}
