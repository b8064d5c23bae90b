package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/apps/controllerrevision"
	"github.com/kemudi/kemudi/internal/registry/apps/daemonset"
	"github.com/kemudi/kemudi/internal/registry/apps/deployment"
	"github.com/kemudi/kemudi/internal/registry/apps/replicaset"
	"github.com/kemudi/kemudi/internal/registry/apps/statefulset"
)

func apps() []*registry.Resource {
	return []*registry.Resource{
		controllerrevision.Resource(),
		daemonset.Resource(),
		deployment.Resource(),
		replicaset.Resource(),
		statefulset.Resource(),
	}
}
