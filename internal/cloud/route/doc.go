// Package route is the cloud controller manager's route controller
// (upstream's node-route-controller): for a provider that has Routes,
// it makes every node's pod CIDRs routed to that node in the provider's
// network, deletes the routes of the cluster's CIDRs that no node owns,
// and keeps each node's NetworkUnavailable condition saying whether its
// routes exist, as upstream's does. It does not run for a provider
// without routes.
package route
