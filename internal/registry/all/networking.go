package all

import "github.com/kemudi/kemudi/internal/registry"

func networking() []*registry.Resource {
	return nil
}
