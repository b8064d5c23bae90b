package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/batch/cronjob"
	"github.com/kemudi/kemudi/internal/registry/batch/job"
)

func batch() []*registry.Resource {
	return []*registry.Resource{
		cronjob.Resource(),
		job.Resource(),
	}
}
