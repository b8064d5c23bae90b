package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/events/event"
)

func events() []*registry.Resource {
	return []*registry.Resource{
		event.Resource(),
	}
}
