package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/storage/csidriver"
	"github.com/kemudi/kemudi/internal/registry/storage/csinode"
	"github.com/kemudi/kemudi/internal/registry/storage/csistoragecapacity"
	"github.com/kemudi/kemudi/internal/registry/storage/storageclass"
	"github.com/kemudi/kemudi/internal/registry/storage/volumeattachment"
)

func storage() []*registry.Resource {
	return []*registry.Resource{
		csidriver.Resource(),
		csinode.Resource(),
		csistoragecapacity.Resource(),
		storageclass.Resource(),
		volumeattachment.Resource(),
	}
}
