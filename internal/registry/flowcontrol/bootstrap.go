package flowcontrol

import (
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
)

// The bootstrap objects are upstream's own (k8s.io/apiserver's
// "apf-configuration" data), so that a cluster classifies requests as a
// kube-apiserver of the same release does. Every function returns fresh
// copies: the library's are shared package values.

// MandatoryFlowSchema returns the mandatory schema of that name (exempt,
// catch-all), or nil.
func MandatoryFlowSchema(name string) *flowcontrolv1.FlowSchema {
	for _, fs := range bootstrap.MandatoryFlowSchemas {
		if fs.Name == name {
			return fs.DeepCopy()
		}
	}
	return nil
}

// MandatoryPriorityLevel returns the mandatory priority level of that
// name (exempt, catch-all), or nil.
func MandatoryPriorityLevel(name string) *flowcontrolv1.PriorityLevelConfiguration {
	for _, pl := range bootstrap.MandatoryPriorityLevelConfigurations {
		if pl.Name == name {
			return pl.DeepCopy()
		}
	}
	return nil
}

// BootstrapPriorityLevels are the priority levels a server creates when
// missing: the mandatory ones, then the suggested ones.
func BootstrapPriorityLevels() []flowcontrolv1.PriorityLevelConfiguration {
	var out []flowcontrolv1.PriorityLevelConfiguration
	for _, set := range [][]*flowcontrolv1.PriorityLevelConfiguration{bootstrap.MandatoryPriorityLevelConfigurations, bootstrap.SuggestedPriorityLevelConfigurations} {
		for _, pl := range set {
			out = append(out, *pl.DeepCopy())
		}
	}
	return out
}

// BootstrapFlowSchemas are the flow schemas a server creates when
// missing: the mandatory ones, then the suggested ones.
func BootstrapFlowSchemas() []flowcontrolv1.FlowSchema {
	var out []flowcontrolv1.FlowSchema
	for _, set := range [][]*flowcontrolv1.FlowSchema{bootstrap.MandatoryFlowSchemas, bootstrap.SuggestedFlowSchemas} {
		for _, fs := range set {
			out = append(out, *fs.DeepCopy())
		}
	}
	return out
}
