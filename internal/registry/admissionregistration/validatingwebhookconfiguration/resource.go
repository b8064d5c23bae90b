// Package validatingwebhookconfiguration serves admissionregistration.k8s.io/v1
// validating webhook configurations: webhooks the API server calls, in
// parallel, to accept or refuse a write after it is validated.
package validatingwebhookconfiguration

import (
	"context"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/admissionregistration/webhookconfig"
)

// Resource returns the validatingwebhookconfigurations resource.
func Resource() *registry.Resource {
	v := webhookconfig.NewValidator()
	return &registry.Resource{
		GroupVersion:     admissionv1.SchemeGroupVersion,
		Resource:         "validatingwebhookconfigurations",
		Kind:             "ValidatingWebhookConfiguration",
		SingularName:     "validatingwebhookconfiguration",
		Categories:       []string{"api-extensions"},
		New:              func() runtime.Object { return &admissionv1.ValidatingWebhookConfiguration{} },
		NewList:          func() runtime.Object { return &admissionv1.ValidatingWebhookConfigurationList{} },
		TracksGeneration: true,
		Hooks: registry.Hooks{
			Default: func(obj runtime.Object) {
				c := obj.(*admissionv1.ValidatingWebhookConfiguration)
				for i := range c.Webhooks {
					webhookconfig.Default(&c.Webhooks[i])
				}
			},
			Validate: func(_ context.Context, obj runtime.Object) field.ErrorList {
				c := obj.(*admissionv1.ValidatingWebhookConfiguration)
				return v.ValidateWebhooks(field.NewPath("webhooks"), c.Webhooks, nil)
			},
			ValidateUpdate: func(_ context.Context, obj, old runtime.Object) field.ErrorList {
				c := obj.(*admissionv1.ValidatingWebhookConfiguration)
				stored := webhookconfig.Expressions(old.(*admissionv1.ValidatingWebhookConfiguration).Webhooks)
				return v.ValidateWebhooks(field.NewPath("webhooks"), c.Webhooks, stored)
			},
		},
		Table: webhookconfig.Table(func(obj runtime.Object) (int, metav1.Time) {
			c := obj.(*admissionv1.ValidatingWebhookConfiguration)
			return len(c.Webhooks), c.CreationTimestamp
		}),
	}
}
