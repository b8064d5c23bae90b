// Package admission is the API server's admission chain: plugins under
// upstream's names, run in upstream's recommended order, every mutating
// plugin before any validating one, as kube-apiserver runs them.
//
// The plugins live beside it: the built-in ones in admission/builtin, the
// admission policies in admission/policy, the webhooks in
// admission/webhook, PodSecurity, NodeRestriction and the certificate
// plugins in internal/auth. internal/cluster chooses which run (Select,
// from --enable-admission-plugins and --disable-admission-plugins) and
// builds the chain (NewChain) the API server calls.
package admission
