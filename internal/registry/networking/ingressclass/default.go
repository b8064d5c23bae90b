package ingressclass

import networkingv1 "k8s.io/api/networking/v1"

// Default scopes a parameters reference to the cluster when it does not
// say.
func Default(ic *networkingv1.IngressClass) {
	if p := ic.Spec.Parameters; p != nil && p.Scope == nil {
		scope := networkingv1.IngressClassParametersReferenceScopeCluster
		p.Scope = &scope
	}
}
