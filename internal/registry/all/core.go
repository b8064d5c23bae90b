package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/core/configmap"
)

func core() []*registry.Resource {
	return []*registry.Resource{
		configmap.Resource(),
	}
}
