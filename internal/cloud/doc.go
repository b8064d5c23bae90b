// Package cloud is kemudi's cloud-controller-manager: the controllers
// that talk to a cloud provider (the service controller for load
// balancers, the cloud node controller, the node lifecycle controller
// and the route controller) run as API clients behind
// k8s.io/cloud-provider's Interface, so that any provider's
// implementation plugs in. kemudi ships the local provider (package
// local) for machines without a cloud.
//
// It runs inside `kemudi server` (supervised, leader-elected on the
// kube-system/cloud-controller-manager Lease) and alone as
// `kemudi cloud-controller-manager --kubeconfig F --cloud-provider local`.
package cloud
