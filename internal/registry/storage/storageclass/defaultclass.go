package storageclass

import storagev1 "k8s.io/api/storage/v1"

// DefaultOf is the default StorageClass among classes, as
// EffectiveDefault chooses it (the newest marked, then the first by
// name), for callers holding pointers (listers, caches). Nil when none
// is marked.
func DefaultOf(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var best *storagev1.StorageClass
	for _, c := range classes {
		if !IsDefault(c) {
			continue
		}
		if best == nil || c.CreationTimestamp.After(best.CreationTimestamp.Time) ||
			(c.CreationTimestamp.Equal(&best.CreationTimestamp) && c.Name < best.Name) {
			best = c
		}
	}
	return best
}
