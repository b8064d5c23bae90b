package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/scheduling/priorityclass"
)

func scheduling() []*registry.Resource {
	return []*registry.Resource{
		priorityclass.Resource(),
	}
}
