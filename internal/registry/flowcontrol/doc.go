// Package flowcontrol holds what the flowcontrol.apiserver.k8s.io/v1 kinds
// share: upstream's mandatory and suggested bootstrap objects.
package flowcontrol
