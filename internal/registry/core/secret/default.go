package secret

import (
	corev1 "k8s.io/api/core/v1"
)

// Default folds stringData into data (a stringData key wins over the same
// data key) and drops stringData, which is write-only: upstream never
// stores or returns it. An empty type is Opaque.
func Default(s *corev1.Secret) {
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
}

// PrepareForUpdate keeps the stored type when a client sends none.
func PrepareForUpdate(s, old *corev1.Secret) {
	if s.Type == "" {
		s.Type = old.Type
	}
}
