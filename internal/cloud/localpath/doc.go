// Package localpath is the node side of the local cloud provider's
// volumes: the provisioner of kemudi's default StorageClass local-path
// (provisioner kemudi.io/local-path). As k3s ships rancher's
// local-path-provisioner, a volume is a directory on one node; as
// kubernetes-csi's external-provisioner in its node deployment, every
// agent runs one, with the node's identity, and provisions only the
// claims the scheduler placed on its own node (the selected-node
// annotation), deletes only the released volumes whose node affinity
// names its node, and grows the volumes of classes that allow it. As
// external-provisioner's distributed capacity tracking, it also
// publishes its own node's free space as CSIStorageCapacity objects
// (capacity.go, publish.go), which the scheduler reads.
package localpath
