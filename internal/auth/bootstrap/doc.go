// Package bootstrap holds upstream's bootstrap tokens: `<id>.<secret>`
// tokens kept as bootstrap.kubernetes.io/token Secrets named
// bootstrap-token-<id> in kube-system, which authenticate as
// system:bootstrap:<id> in the system:bootstrappers group (plus the
// secret's auth-extra-groups) until they expire. A new node uses one to
// ask for its certificate (TLS bootstrapping).
package bootstrap
