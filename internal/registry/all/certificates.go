package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/certificates/certificatesigningrequest"
)

func certificates() []*registry.Resource {
	return []*registry.Resource{
		certificatesigningrequest.Resource(),
	}
}
