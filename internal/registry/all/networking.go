package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/networking/ingress"
	"github.com/kemudi/kemudi/internal/registry/networking/ingressclass"
	"github.com/kemudi/kemudi/internal/registry/networking/networkpolicy"
)

func networking() []*registry.Resource {
	return []*registry.Resource{
		ingressclass.Resource(),
		ingress.Resource(),
		networkpolicy.Resource(),
	}
}
