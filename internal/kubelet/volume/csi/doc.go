// Package csi is the kubelet's CSI node side, as upstream's CSI volume
// plugin and plugin manager: drivers register through sockets in the
// kubelet's plugins registry directory (upstream's pluginregistration
// API), are written into the node's CSINode object and nodeid
// annotation, and mount persistent volumes into pods through their CSI
// Node service (NodeStageVolume once per node, NodePublishVolume per
// pod), undone when the pods go.
package csi
