package registry

import (
	"slices"
	"testing"
)

func TestGrant(t *testing.T) {
	user, node, anon := identity{name: "alifah"}, identity{name: "system:node:n1", node: true}, identity{}
	tests := []struct {
		id    identity
		scope string
		want  []string
	}{
		{user, "repository:alifah/app:pull,push", []string{"pull", "push"}},
		{user, "repository:other/app:delete", []string{"delete"}},
		{user, "registry:catalog:*", []string{"*"}},
		{node, "repository:alifah/app:pull,push", []string{"pull"}},
		{node, "repository:alifah/app:delete", nil},
		{node, "registry:catalog:*", nil},
		{anon, "repository:alifah/app:pull", nil},
		{user, "repository(plugin):alifah/app:pull", []string{"pull"}},
		{user, "unknown:x:pull", nil},
	}
	for _, tt := range tests {
		ra := parseScope(tt.scope)
		if ra == nil {
			t.Fatalf("parseScope(%q) = nil", tt.scope)
		}
		if got := grant(tt.id, ra); !slices.Equal(got, tt.want) {
			t.Errorf("grant(%+v, %q) = %v, want %v", tt.id, tt.scope, got, tt.want)
		}
	}
	for _, bad := range []string{"", "repository", "repository:name"} {
		if ra := parseScope(bad); ra != nil {
			t.Errorf("parseScope(%q) = %+v, want nil", bad, ra)
		}
	}
}
