// Package mutatingwebhookconfiguration serves admissionregistration.k8s.io/v1
// mutating webhook configurations: webhooks the API server calls, one
// after another, to change a write (JSONPatch answers) before it is
// validated.
package mutatingwebhookconfiguration

import (
	"context"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/webhookconfig"
)

// Resource returns the mutatingwebhookconfigurations resource.
func Resource() *registry.Resource {
	v := webhookconfig.NewValidator()
	validate := func(c *admissionv1.MutatingWebhookConfiguration, stored sets.Set[string]) field.ErrorList {
		path := field.NewPath("webhooks")
		hooks := make([]admissionv1.ValidatingWebhook, len(c.Webhooks))
		for i := range c.Webhooks {
			hooks[i] = webhookconfig.AsValidating(&c.Webhooks[i])
		}
		errs := v.ValidateWebhooks(path, hooks, stored)
		for i := range c.Webhooks {
			errs = append(errs, webhookconfig.ValidateReinvocation(path.Index(i).Child("reinvocationPolicy"), c.Webhooks[i].ReinvocationPolicy)...)
		}
		return errs
	}
	return &registry.Resource{
		GroupVersion:     admissionv1.SchemeGroupVersion,
		Resource:         "mutatingwebhookconfigurations",
		Kind:             "MutatingWebhookConfiguration",
		SingularName:     "mutatingwebhookconfiguration",
		Categories:       []string{"api-extensions"},
		New:              func() runtime.Object { return &admissionv1.MutatingWebhookConfiguration{} },
		NewList:          func() runtime.Object { return &admissionv1.MutatingWebhookConfigurationList{} },
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				c := obj.(*admissionv1.MutatingWebhookConfiguration)
				for i := range c.Webhooks {
					webhookconfig.DefaultMutating(&c.Webhooks[i])
				}
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				return validate(obj.(*admissionv1.MutatingWebhookConfiguration), nil)
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				var stored sets.Set[string]
				for _, h := range old.(*admissionv1.MutatingWebhookConfiguration).Webhooks {
					stored = stored.Union(webhookconfig.Expressions([]admissionv1.ValidatingWebhook{webhookconfig.AsValidating(&h)}))
				}
				return validate(obj.(*admissionv1.MutatingWebhookConfiguration), stored)
			},
		},
		Table: webhookconfig.Table(func(obj runtime.Object) (int, metav1.Time) {
			c := obj.(*admissionv1.MutatingWebhookConfiguration)
			return len(c.Webhooks), c.CreationTimestamp
		}),
	}
}
