package all

import (
	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/mutatingadmissionpolicy"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/mutatingadmissionpolicybinding"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/mutatingwebhookconfiguration"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingadmissionpolicy"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingadmissionpolicybinding"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/validatingwebhookconfiguration"
)

// admissionRegistration lists admissionregistration.k8s.io: one line per
// resource (Resources sorts them).
func admissionRegistration() []*registry.Resource {
	return []*registry.Resource{
		mutatingwebhookconfiguration.Resource(),
		validatingwebhookconfiguration.Resource(),
		validatingadmissionpolicy.Resource(),
		validatingadmissionpolicybinding.Resource(),
		mutatingadmissionpolicy.Resource(),
		mutatingadmissionpolicybinding.Resource(),
	}
}
