// Package persistentvolume is upstream's persistentvolume-binder
// controller (kube-controller-manager's PersistentVolume controller):
// it binds claims to the smallest fitting Available volume of their
// class, keeps both objects' phases (PV Available/Bound/Released/
// Failed, PVC Pending/Bound/Lost), hands claims of a class with an
// external provisioner to that provisioner (once the scheduler picked
// a node for WaitForFirstConsumer classes), gives claims without a
// class the default class once one exists, and carries out a released
// volume's reclaim policy.
//
// decide.go is the decision core (no I/O); controller.go and bind.go
// read the caches and write what it decides.
package persistentvolume
