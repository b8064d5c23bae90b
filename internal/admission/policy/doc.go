// Package policy is the ValidatingAdmissionPolicy admission plugin: every
// write is checked against the admissionregistration.k8s.io/v1 policies
// whose matchConstraints and bindings match it, with the CEL variables
// upstream gives (object, oldObject, request, params, namespaceObject,
// authorizer, variables), and refused, warned about or audited as the
// binding's validationActions say.
//
// Matching (rules, selectors, exclusions), the cache of policies and
// bindings (fed by the store's watch, compiled once per generation) and
// the param lookups are ours; compiling and evaluating the CEL
// expressions use upstream's libraries (k8s.io/apiserver's admission CEL
// and validating policy validator), so that expressions behave, cost and
// fail as they do upstream.
//
// A server without policies pays one atomic load per write.
package policy
