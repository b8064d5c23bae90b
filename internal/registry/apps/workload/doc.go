// Package workload holds the validation pieces that upstream shares between
// the workload kinds (deployments, replica sets, stateful sets, daemon sets,
// jobs) and pod disruption budgets: int-or-percent fields, the selector that
// must match the pod template's labels, and the name warnings. Each kind's
// own package composes them; nothing here knows about a particular kind.
package workload
