package serviceaccount

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// enforceMountableSecrets is the annotation that once limited the secrets
// a pod of the account could mount.
const enforceMountableSecrets = "kubernetes.io/enforce-mountable-secrets"

// Warnings warns about the deprecated enforce-mountable-secrets annotation
// when it is newly set (old is nil on create).
func Warnings(sa, old *corev1.ServiceAccount) []string {
	if old != nil {
		if _, ok := old.Annotations[enforceMountableSecrets]; ok {
			return nil
		}
	}
	if _, ok := sa.Annotations[enforceMountableSecrets]; ok {
		return []string{fmt.Sprintf("metadata.annotations[%s]: deprecated in v1.32+; prefer separate namespaces to isolate access to mounted secrets", enforceMountableSecrets)}
	}
	return nil
}
