package all

import "github.com/kemudi/kemudi/internal/registry"

func scheduling() []*registry.Resource {
	return nil
}
