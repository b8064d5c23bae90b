// Package attachdetach is upstream's attach/detach controller
// ("attachdetach" in --controllers) for CSI persistent volumes: on each
// node that lets the controller manage attachments (the kubelet's
// volumes.kubernetes.io/controller-managed-attach-detach annotation), it
// asks for every volume the node's running pods need to be attached, by
// creating a VolumeAttachment that the driver's external attacher acts
// on, and reports the attached ones in node.status.volumesAttached. A
// volume no pod needs any more is detached (its VolumeAttachment
// deleted) once the kubelet no longer lists it in status.volumesInUse,
// or, on a node that is not Ready or gone, after MaxWaitForUnmount.
//
// Inline CSI volumes are not attached (as upstream, which attaches them
// only for migrated in-tree plugins), nor volumes whose CSIDriver says
// attachRequired: false. What to create, delete and report is a pure
// function of one node's pods' volumes and attachments (decide.go); the
// controller gathers them from informers and acts.
package attachdetach
