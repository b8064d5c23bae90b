// Package ephemeral is upstream's ephemeral-volume-controller: for each
// pod with generic ephemeral volumes (spec.volumes[].ephemeral) it
// creates the claim <pod>-<volume> from the volume's claim template,
// controlled by the pod so that the garbage collector deletes the claim
// with the pod. A claim of that name that the pod does not control is
// left alone and reported on the pod (the kubelet refuses to use it).
//
// decide.go is the decision core (no I/O); controller.go reads the
// caches and writes what it decides.
package ephemeral
