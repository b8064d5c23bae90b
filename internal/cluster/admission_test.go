package cluster

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/kemudi/kemudi/internal/admission"
	"github.com/kemudi/kemudi/internal/auth"
)

// fakePlugin notes each call as "<name>:<phase>".
type fakePlugin struct {
	name  string
	calls *[]string
}

func (f fakePlugin) Mutate(context.Context, *auth.AdmissionRequest) error {
	*f.calls = append(*f.calls, f.name+":mutate")
	return nil
}

func (f fakePlugin) Admit(context.Context, *auth.AdmissionRequest) error {
	*f.calls = append(*f.calls, f.name+":admit")
	return nil
}

// TestAdmissionChainAssembly: the flags choose the plugins, which run in
// upstream's order; the mutating webhooks run in the mutating policies'
// phase when both run (that phase, without policies here, calls them).
func TestAdmissionChainAssembly(t *testing.T) {
	tests := []struct {
		name            string
		enable, disable []string
		wantNames       []string
		wantCalls       []string
	}{{
		name: "defaults",
		wantNames: []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "PodSecurity", "Priority",
			"DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "CertificateApproval", "CertificateSigning",
			"CertificateSubjectRestriction", "PodResizeValidator", "MutatingAdmissionPolicy", "MutatingAdmissionWebhook",
			"ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "ResourceQuota"},
		wantCalls: []string{"NamespaceLifecycle:mutate", "LimitRanger:mutate", "Priority:mutate", "webhooks:mutate",
			"LimitRanger:admit", "podsecurity:admit", "Priority:admit", "PodResizeValidator:admit", "validating-policies:admit", "webhooks:admit", "ResourceQuota:admit"},
	}, {
		name:    "disabled plugins do not run",
		disable: []string{"LimitRanger", "PodSecurity", "ResourceQuota", "ValidatingAdmissionWebhook", "NodeRestriction", "PodResizeValidator"},
		wantNames: []string{"NamespaceLifecycle", "ServiceAccount", "Priority",
			"DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "CertificateApproval", "CertificateSigning",
			"CertificateSubjectRestriction", "MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "ValidatingAdmissionPolicy"},
		wantCalls: []string{"NamespaceLifecycle:mutate", "Priority:mutate", "webhooks:mutate",
			"Priority:admit", "validating-policies:admit"},
	}, {
		name:    "without the mutating policies the webhooks mutate on their own",
		disable: []string{"MutatingAdmissionPolicy", "ValidatingAdmissionPolicy"},
		enable:  []string{"NamespaceLifecycle"},
		wantNames: []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "PodSecurity", "Priority",
			"DefaultTolerationSeconds", "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "CertificateApproval", "CertificateSigning",
			"CertificateSubjectRestriction", "PodResizeValidator", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"},
		wantCalls: []string{"NamespaceLifecycle:mutate", "LimitRanger:mutate", "Priority:mutate", "webhooks:mutate",
			"LimitRanger:admit", "podsecurity:admit", "Priority:admit", "PodResizeValidator:admit", "webhooks:admit", "ResourceQuota:admit"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := selectAdmissionPlugins(tt.enable, tt.disable, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			fake := func(name string) fakePlugin { return fakePlugin{name: name, calls: &calls} }
			var builtins []admission.Plugin
			for _, b := range []struct {
				name     string
				mutating bool
				validate bool
			}{{"NamespaceLifecycle", true, false}, {"LimitRanger", true, true}, {"ServiceAccount", false, false},
				{"Priority", true, true}, {"DefaultTolerationSeconds", false, false}, {"DefaultStorageClass", false, false}, {"StorageObjectInUseProtection", false, false},
				{"PersistentVolumeClaimResize", false, false}, {"PodResizeValidator", false, true},
				{"ResourceQuota", false, true}} {
				p := admission.Plugin{Name: b.name, OwnWrites: true}
				if b.mutating {
					p.Mutating = fake(b.name)
				}
				if b.validate {
					p.Validating = fake(b.name)
				}
				builtins = append(builtins, p)
			}
			// Only the plugins names asks for are built, as StartServer
			// builds them.
			parts := &admissionParts{builtin: builtins}
			if slices.Contains(names, "PodSecurity") {
				parts.podSecurity = fake("podsecurity")
			}
			if slices.Contains(names, "ValidatingAdmissionPolicy") {
				parts.validatingPolicies = fake("validating-policies")
			}
			if slices.Contains(names, "MutatingAdmissionWebhook") || slices.Contains(names, "ValidatingAdmissionWebhook") {
				parts.webhooks = fake("webhooks")
			}
			chain, err := assembleAdmission(names, parts)
			if err != nil {
				t.Fatal(err)
			}
			if got := chain.Names(); !slices.Equal(got, tt.wantNames) {
				t.Errorf("names\n%v, want\n%v", got, tt.wantNames)
			}
			// A configmap create by a user who is no node and no CSR.
			r := &auth.AdmissionRequest{User: &auth.User{Name: "alice"}, Operation: auth.Create, Resource: "configmaps", Namespace: "default", Name: "c", Namespaced: true}
			if err := chain.Mutate(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if err := chain.Admit(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls\n%v, want\n%v", calls, tt.wantCalls)
			}
		})
	}
}
