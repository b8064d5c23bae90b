package all

import "github.com/kemudi/kemudi/internal/registry"

func rbac() []*registry.Resource {
	return nil
}
