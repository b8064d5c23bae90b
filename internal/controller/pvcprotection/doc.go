// Package pvcprotection holds upstream's storage object in-use protection
// controllers: persistentvolumeclaim-protection keeps the
// kubernetes.io/pvc-protection finalizer on claims and removes it from a
// deleted claim once no scheduled pod uses it; persistentvolume-protection
// does the same with kubernetes.io/pv-protection for volumes no longer
// bound. The API server adds both finalizers at creation.
package pvcprotection
