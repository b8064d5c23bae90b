package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/apiextensions/customresourcedefinition"
)

func apiextensions() []*registry.Resource {
	return []*registry.Resource{
		customresourcedefinition.Resource(),
	}
}
