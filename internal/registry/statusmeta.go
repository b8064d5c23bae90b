package registry

// StatusMeta says which metadata an update of /status (or another
// status-like subresource) takes from the request; the rest stays as
// stored. It follows the kind's status strategy upstream, and so do the
// fields its manager may own (server-side apply's reset fields). Whatever
// it says, identity and deletion (uid, creationTimestamp,
// deletionTimestamp, its grace period, generation) never change through
// status.
type StatusMeta int

const (
	// StatusMetaStored keeps the stored labels, annotations, finalizers
	// and owner references (upstream's metav1.ResetObjectMetaForStatus):
	// the default, as for the kinds whose status strategy resets them
	// (volume attachments, validating admission policies, API services).
	StatusMetaStored StatusMeta = iota
	// StatusMetaRequest keeps the request's: upstream's older kinds,
	// whose status strategies reset only the spec (nodes, workloads, ...).
	StatusMetaRequest
	// StatusMetaRequestButOwners is StatusMetaRequest with the stored
	// owner references: pods, whose status old kubelets wrote with
	// owner references the garbage collector could not follow.
	StatusMetaRequestButOwners
	// StatusMetaRequestButLabels is StatusMetaRequest with the stored
	// labels: deployments.
	StatusMetaRequestButLabels
	// StatusMetaAllStored keeps the whole stored metadata but
	// managedFields: custom resources (and upstream's flowcontrol kinds).
	StatusMetaAllStored
)
