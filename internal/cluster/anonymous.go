package cluster

import (
	"log/slog"
	"slices"

	"github.com/kemudi/kemudi/internal/apiserver"
)

// anonymousAuth is what the API server makes of --anonymous-auth. As
// upstream, AlwaysAllow among the authorization modes turns it off, with
// a warning: an anonymous request would be allowed everything.
func anonymousAuth(enabled bool, modes []string, log *slog.Logger) apiserver.AnonymousAuth {
	if enabled && slices.Contains(modes, ModeAlwaysAllow) {
		log.Warn("anonymous requests are not allowed with the AlwaysAllow authorizer: --anonymous-auth is set to false; use another authorizer")
		enabled = false
	}
	return apiserver.AnonymousAuth{Enabled: enabled}
}
