package all

import "github.com/kemudi/kemudi/internal/registry"

func policy() []*registry.Resource {
	return nil
}
