// Package builtin holds kube-apiserver's built-in admission plugins that
// kemudi implements, one file each under upstream's name:
// NamespaceLifecycle, LimitRanger, ServiceAccount, Priority,
// DefaultTolerationSeconds, StorageObjectInUseProtection and
// ResourceQuota. Each reads the objects it needs through Reader (and
// ResourceQuota charges through Updater), which StoreResource implements
// over the API server's store and watch cache; New builds them all for
// the admission chain.
//
// They judge the API server's own writes too (admission.Plugin.OwnWrites),
// as they did when they were part of the server: what they guard holds
// for every object stored.
package builtin
