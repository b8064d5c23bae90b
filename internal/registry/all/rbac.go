package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/rbac/clusterrole"
	"github.com/kemudi/kemudi/internal/registry/rbac/clusterrolebinding"
	"github.com/kemudi/kemudi/internal/registry/rbac/role"
	"github.com/kemudi/kemudi/internal/registry/rbac/rolebinding"
)

func rbac() []*registry.Resource {
	return []*registry.Resource{
		clusterrolebinding.Resource(),
		clusterrole.Resource(),
		rolebinding.Resource(),
		role.Resource(),
	}
}
