// Package volumeexpand is upstream's persistentvolume-expander (the
// controller manager's expand controller) as far as it concerns
// volumes that an external controller expands, which in kemudi are all
// of them: for a bound claim that asks more than its status holds it
// reports on the claim that an external controller (the CSI driver's
// resizer; kemudi.io/local-path for its own volumes) is to expand it.
// The in-tree expandable plugins and the CSI-migration hand-off of
// upstream's controller have no counterpart here: kemudi has no
// in-tree volume plugins to expand or migrate.
//
// decide.go is the decision core (no I/O); controller.go reads the
// caches and records what it decides.
package volumeexpand
