package all

import "github.com/kemudi/kemudi/internal/registry"

func batch() []*registry.Resource {
	return nil
}
