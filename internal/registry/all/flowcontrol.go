package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/flowcontrol/flowschema"
	"github.com/kemudi/kemudi/internal/registry/flowcontrol/prioritylevelconfiguration"
)

func flowControl() []*registry.Resource {
	return []*registry.Resource{
		flowschema.Resource(),
		prioritylevelconfiguration.Resource(),
	}
}
