package all

import "github.com/kemudi/kemudi/internal/registry"

func coordination() []*registry.Resource {
	return nil
}
