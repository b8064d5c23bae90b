package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/core/configmap"
	"github.com/kemudi/kemudi/internal/registry/core/namespace"
)

func core() []*registry.Resource {
	return []*registry.Resource{
		configmap.Resource(),
		namespace.Resource(),
	}
}
