// Package apiclient is what kemudi's components share in the way they
// configure their clients of the API server.
package apiclient

import "k8s.io/client-go/rest"

// Protobuf returns a copy of cfg that sends protobuf and asks for it
// (JSON accepted for what has no protobuf form): every object a
// component writes or watches then costs the API server and the
// component a fraction of JSON's encoding, as upstream's
// --kube-api-content-type.
func Protobuf(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return c
}

// Unlimited is Protobuf(cfg) without a client-side rate limit, with
// userAgent unless cfg names one: for components whose request rate the
// API server, not the client, should bound.
func Unlimited(cfg *rest.Config, userAgent string) *rest.Config {
	c := Protobuf(cfg)
	c.QPS, c.Burst = -1, 0
	if c.UserAgent == "" {
		c.UserAgent = userAgent
	}
	return c
}
