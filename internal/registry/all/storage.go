package all

import "github.com/kemudi/kemudi/internal/registry"

func storage() []*registry.Resource {
	return nil
}
