// Package leaderelect is the one leader-election loop of kemudi's elected
// components (the scheduler, the controller manager, later the cloud
// controller manager): a component's work runs only while it holds its
// Lease, stops as soon as the lease is lost, and the component then
// campaigns again.
package leaderelect
