// Package service is the cloud controller manager's service controller
// (upstream's service-lb-controller): it gives every Service of type
// LoadBalancer a load balancer of the cloud provider, and takes it away
// when the service goes or changes type.
//
// As upstream's: the finalizer service.kubernetes.io/load-balancer-cleanup
// is added before a load balancer is made and removed once it is gone;
// the events EnsuringLoadBalancer, EnsuredLoadBalancer,
// SyncLoadBalancerFailed (with the provider's reason), DeletingLoadBalancer,
// DeletedLoadBalancer, UpdatedLoadBalancer and UnAvailableLoadBalancer
// tell a user what happened; status.loadBalancer.ingress carries the
// provider's addresses; services with spec.loadBalancerClass are left to
// the controller of that class; a change of the node set updates every
// load balancer's hosts. Failed syncs are retried after 5 s, doubling up
// to 5 minutes, as upstream, and at once when another load balancer is
// deleted (it may have freed what the failed one wanted).
package service
