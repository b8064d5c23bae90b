package all

import "github.com/kemudi/kemudi/internal/registry"

func apps() []*registry.Resource {
	return nil
}
