// Package registry is kemudi's embedded OCI registry: the
// github.com/distribution/distribution/v3 registry (its HTTP handlers,
// filesystem storage, token access controller and garbage collector)
// served on :5000 by `kemudi server` over TLS with a certificate from the
// cluster CA, with what the library lacks built around it: the token
// endpoint (Basic auth against an htpasswd-style users file, or a node's
// client certificate for pulls), the OCI 1.1 referrers API, and a GC
// timer.
//
// On disk, under <data-dir>/registry (see Layout): the blobs and
// manifests (storage/), the users file (users), the token signing key
// (token.key, token.jwks) and the referrers index (referrers/); the
// generated admin password is <data-dir>/registry-password.
//
// Access rules, kept simple: a user in the users file may pull, push and
// delete in every repository and list the catalog; a node (a client
// certificate from the cluster CA in group system:nodes) may pull every
// repository; anyone else gets nothing (401).
package registry
