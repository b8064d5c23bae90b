package webhook

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kemudi/kemudi/internal/webhookclient"
)

// Resolver finds where a service's webhook answers (webhookclient's).
type Resolver = webhookclient.Resolver

// StoreResolver resolves services from the API server's store
// (webhookclient's).
type StoreResolver = webhookclient.StoreResolver

// clientConfig is an admission webhook's client configuration as the
// shared webhook client takes it.
func clientConfig(cc admissionv1.WebhookClientConfig) webhookclient.Config {
	out := webhookclient.Config{URL: cc.URL, CABundle: cc.CABundle}
	if s := cc.Service; s != nil {
		out.Service = &webhookclient.Service{Namespace: s.Namespace, Name: s.Name, Path: s.Path, Port: s.Port}
	}
	return out
}
