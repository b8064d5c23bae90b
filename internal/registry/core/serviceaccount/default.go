package serviceaccount

import (
	corev1 "k8s.io/api/core/v1"
)

// CleanSecretReferences reduces each entry of secrets to the secret's name:
// the references are always to secrets in the account's own namespace,
// and upstream stores nothing else.
func CleanSecretReferences(sa *corev1.ServiceAccount) {
	for i, s := range sa.Secrets {
		sa.Secrets[i] = corev1.ObjectReference{Name: s.Name}
	}
}
