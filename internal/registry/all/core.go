package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/core/configmap"
	"github.com/kemudi/kemudi/internal/registry/core/endpoints"
	"github.com/kemudi/kemudi/internal/registry/core/event"
	"github.com/kemudi/kemudi/internal/registry/core/limitrange"
	"github.com/kemudi/kemudi/internal/registry/core/namespace"
	"github.com/kemudi/kemudi/internal/registry/core/node"
	"github.com/kemudi/kemudi/internal/registry/core/persistentvolume"
	"github.com/kemudi/kemudi/internal/registry/core/persistentvolumeclaim"
	"github.com/kemudi/kemudi/internal/registry/core/pod"
	"github.com/kemudi/kemudi/internal/registry/core/podtemplate"
	"github.com/kemudi/kemudi/internal/registry/core/replicationcontroller"
	"github.com/kemudi/kemudi/internal/registry/core/resourcequota"
	"github.com/kemudi/kemudi/internal/registry/core/secret"
	"github.com/kemudi/kemudi/internal/registry/core/service"
	"github.com/kemudi/kemudi/internal/registry/core/serviceaccount"
)

func core() []*registry.Resource {
	return []*registry.Resource{
		configmap.Resource(),
		namespace.Resource(),
		service.Resource(),
		secret.Resource(),
		serviceaccount.Resource(),
		endpoints.Resource(),
		limitrange.Resource(),
		resourcequota.Resource(),
		replicationcontroller.Resource(),
		persistentvolume.Resource(),
		persistentvolumeclaim.Resource(),
		pod.Resource(),
		podtemplate.Resource(),
		node.Resource(),
		event.Resource(),
	}
}
