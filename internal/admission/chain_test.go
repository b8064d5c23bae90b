package admission

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kemudi/kemudi/internal/auth"
)

// recorder is a plugin that notes each call as "<name>:<phase>" and
// refuses when told to.
type recorder struct {
	name   string
	calls  *[]string
	refuse string // "mutate" or "admit"
}

func (r recorder) Mutate(context.Context, *auth.AdmissionRequest) error {
	*r.calls = append(*r.calls, r.name+":mutate")
	if r.refuse == "mutate" {
		return errors.New(r.name + " refuses")
	}
	return nil
}

func (r recorder) Admit(context.Context, *auth.AdmissionRequest) error {
	*r.calls = append(*r.calls, r.name+":admit")
	if r.refuse == "admit" {
		return errors.New(r.name + " refuses")
	}
	return nil
}

func TestChain(t *testing.T) {
	user := &auth.User{Name: "alice"}
	type spec struct {
		name       string
		mutating   bool
		validating bool
		ownWrites  bool
		refuse     string
	}
	tests := []struct {
		name      string
		plugins   []spec
		user      *auth.User
		wantNames []string
		wantCalls []string
		wantErr   string
	}{{
		name: "upstream's order whatever the order given, mutating phase first",
		plugins: []spec{
			{name: "ResourceQuota", validating: true, ownWrites: true},
			{name: "ValidatingAdmissionWebhook", validating: true},
			{name: "MutatingAdmissionWebhook", mutating: true},
			{name: "Priority", mutating: true, validating: true, ownWrites: true},
			{name: "LimitRanger", mutating: true, validating: true, ownWrites: true},
			{name: "NamespaceLifecycle", mutating: true, ownWrites: true},
		},
		user:      user,
		wantNames: []string{"NamespaceLifecycle", "LimitRanger", "Priority", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"},
		wantCalls: []string{
			"NamespaceLifecycle:mutate", "LimitRanger:mutate", "Priority:mutate", "MutatingAdmissionWebhook:mutate",
			"LimitRanger:admit", "Priority:admit", "ValidatingAdmissionWebhook:admit", "ResourceQuota:admit",
		},
	}, {
		name: "the server's own writes reach only the plugins that judge them",
		plugins: []spec{
			{name: "NamespaceLifecycle", mutating: true, ownWrites: true},
			{name: "MutatingAdmissionWebhook", mutating: true},
			{name: "PodSecurity", validating: true},
			{name: "ResourceQuota", validating: true, ownWrites: true},
		},
		wantNames: []string{"NamespaceLifecycle", "PodSecurity", "MutatingAdmissionWebhook", "ResourceQuota"},
		wantCalls: []string{"NamespaceLifecycle:mutate", "ResourceQuota:admit"},
	}, {
		name: "a mutating refusal ends the request",
		plugins: []spec{
			{name: "ServiceAccount", mutating: true, refuse: "mutate"},
			{name: "DefaultTolerationSeconds", mutating: true},
			{name: "PodSecurity", validating: true},
		},
		user:      user,
		wantNames: []string{"ServiceAccount", "PodSecurity", "DefaultTolerationSeconds"},
		wantCalls: []string{"ServiceAccount:mutate"},
		wantErr:   "ServiceAccount refuses",
	}, {
		name: "a validating refusal ends the phase",
		plugins: []spec{
			{name: "PodSecurity", validating: true, refuse: "admit"},
			{name: "ResourceQuota", validating: true},
		},
		user:      user,
		wantNames: []string{"PodSecurity", "ResourceQuota"},
		wantCalls: []string{"PodSecurity:admit"},
		wantErr:   "PodSecurity refuses",
	}, {
		name:    "a name upstream does not know",
		plugins: []spec{{name: "NamespaceLifeCycle", mutating: true}},
		wantErr: `admission plugin "NamespaceLifeCycle" is unknown`,
	}, {
		name:    "a plugin given twice",
		plugins: []spec{{name: "Priority", mutating: true}, {name: "Priority", validating: true}},
		wantErr: `admission plugin "Priority" given twice`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			var plugins []Plugin
			for _, s := range tt.plugins {
				rec := recorder{name: s.name, calls: &calls, refuse: s.refuse}
				p := Plugin{Name: s.name, OwnWrites: s.ownWrites}
				if s.mutating {
					p.Mutating = rec
				}
				if s.validating {
					p.Validating = rec
				}
				plugins = append(plugins, p)
			}
			c, err := NewChain(plugins...)
			if err != nil {
				if tt.wantErr == "" || err.Error() != tt.wantErr {
					t.Fatalf("NewChain: %v, want %q", err, tt.wantErr)
				}
				return
			}
			if got := c.Names(); !slices.Equal(got, tt.wantNames) {
				t.Errorf("Names() = %v, want %v", got, tt.wantNames)
			}
			r := &auth.AdmissionRequest{User: tt.user, Operation: auth.Create, Resource: "pods"}
			err = c.Mutate(context.Background(), r)
			if err == nil {
				err = c.Admit(context.Background(), r)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls %v, want %v", calls, tt.wantCalls)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	implemented := []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "PodSecurity",
		"Priority", "DefaultTolerationSeconds", "ResourceQuota", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook"}
	defaultOn := []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "PodSecurity",
		"Priority", "DefaultTolerationSeconds", "ResourceQuota", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook"}
	tests := []struct {
		name            string
		enable, disable []string
		want            []string
		wantWarnings    []string
		wantErr         string
	}{{
		name: "defaults, in upstream's order",
		want: []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "PodSecurity", "Priority",
			"DefaultTolerationSeconds", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"},
	}, {
		name:    "disabled ones leave",
		disable: []string{"LimitRanger", "ResourceQuota", "MutatingAdmissionWebhook"},
		want: []string{"NamespaceLifecycle", "ServiceAccount", "PodSecurity", "Priority",
			"DefaultTolerationSeconds", "ValidatingAdmissionWebhook"},
	}, {
		name:   "an enabled default-off one takes its place in the order",
		enable: []string{"NodeRestriction", "NamespaceLifecycle"},
		want: []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "PodSecurity", "Priority",
			"DefaultTolerationSeconds", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"},
	}, {
		name:    "disabling one not implemented changes nothing",
		disable: []string{"DefaultStorageClass", "AlwaysPullImages"},
		want: []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "PodSecurity", "Priority",
			"DefaultTolerationSeconds", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"},
	}, {
		name:         "enabling one upstream runs by default but not implemented warns",
		enable:       []string{"DefaultStorageClass"},
		disable:      []string{"PodSecurity", "Priority", "DefaultTolerationSeconds", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"},
		want:         []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount"},
		wantWarnings: []string{`admission plugin "DefaultStorageClass" is not implemented by kemudi and does not run`},
	}, {
		name:    "enabling one upstream runs only when asked, not implemented",
		enable:  []string{"AlwaysPullImages"},
		wantErr: `enable-admission-plugins plugin "AlwaysPullImages" is not implemented by kemudi`,
	}, {
		name:    "an unknown name to enable",
		enable:  []string{"LimitRanger", "Foo"},
		wantErr: `enable-admission-plugins plugin "Foo" is unknown`,
	}, {
		name:    "an unknown name to disable",
		disable: []string{"limitranger"},
		wantErr: `disable-admission-plugins plugin "limitranger" is unknown`,
	}, {
		name:    "both at once",
		enable:  []string{"Foo"},
		disable: []string{"Bar"},
		wantErr: `[enable-admission-plugins plugin "Foo" is unknown, disable-admission-plugins plugin "Bar" is unknown]`,
	}, {
		name:    "enabled and disabled",
		enable:  []string{"Priority", "LimitRanger"},
		disable: []string{"LimitRanger", "Priority"},
		wantErr: `[LimitRanger Priority] in enable-admission-plugins and disable-admission-plugins overlapped`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings, err := Select(implemented, defaultOn, tt.enable, tt.disable)
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !slices.Equal(warnings, tt.wantWarnings) {
				t.Errorf("warnings %v, want %v", warnings, tt.wantWarnings)
			}
		})
	}
}

// TestRecommendedOrder: every plugin upstream runs by default has its
// place in the order, and no name is there twice.
func TestRecommendedOrder(t *testing.T) {
	order := RecommendedOrder()
	seen := map[string]bool{}
	for _, n := range order {
		if seen[n] {
			t.Errorf("%s twice", n)
		}
		seen[n] = true
	}
	for _, n := range UpstreamDefaultOn() {
		if !seen[n] {
			t.Errorf("default-on %s not in the order", n)
		}
	}
}
