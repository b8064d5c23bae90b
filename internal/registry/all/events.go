package all

import "github.com/kemudi/kemudi/internal/registry"

func events() []*registry.Resource {
	return nil
}
