package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/apiregistration/apiservice"
)

func apiregistration() []*registry.Resource {
	return []*registry.Resource{
		apiservice.Resource(),
	}
}
