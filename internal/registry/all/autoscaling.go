package all

import "github.com/kemudi/kemudi/internal/registry"

func autoscaling() []*registry.Resource {
	return nil
}
