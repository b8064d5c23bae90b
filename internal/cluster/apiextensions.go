package cluster

import (
	"fmt"

	"github.com/kemudi/kemudi/internal/controller/apiextensions"
)

// runAPIExtensions starts the CRD controllers upstream's apiextensions
// server runs (naming, establishing, cleanup finalizer) in the server's
// process, as a client of its API with the API server's own identity
// (system:apiserver, a system:masters member, as upstream's loopback
// client). They stop with the server.
func (s *Server) runAPIExtensions() error {
	const name, user = "apiextensions", "system:apiserver"
	groups := []string{"system:masters"}
	cfg, ok, err := s.LocalConfig(name, user, groups)
	if err != nil {
		return fmt.Errorf("apiextensions controllers: %w", err)
	}
	if !ok {
		if cfg, err = s.ComponentConfig(name, user, groups); err != nil {
			return fmt.Errorf("apiextensions controllers: %w", err)
		}
	}
	log := s.log.With("component", "apiextensions-controllers")
	s.local.Go(func() {
		if err := apiextensions.Run(s.runCtx, cfg, log); err != nil && s.runCtx.Err() == nil {
			log.Error("CRD controllers stopped", "err", err)
		}
	})
	return nil
}
