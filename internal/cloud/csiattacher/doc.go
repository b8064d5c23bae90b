// Package csiattacher is an external attacher for a provider's disks, as
// kubernetes-csi/external-attacher is for a CSI driver: it watches the
// VolumeAttachments whose attacher is the provider's CSI driver, asks
// the provider to attach the disk (the volume handle) to the node's
// machine and answers in the status (attached and the provider's
// attachment metadata, or attachError with its message); a deleted
// attachment is detached first, then let go by removing the finalizer
// external-attacher/<driver> it was given before attaching.
//
// The node is the provider's machine of the same name (no CSINode
// lookup of a CSI node ID), and the persistent volume gets no finalizer
// of its own (external-attacher adds one): only a provider knows how to
// attach, and the provider here is kemudi's cloud interface, not a CSI
// controller plugin over gRPC.
package csiattacher
