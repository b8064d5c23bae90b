package bootstrap

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// ClusterInfo names, as upstream's k8s.io/cluster-bootstrap/token/api:
// kube-public/cluster-info holds a kubeconfig (one cluster: the API's
// URL and CA, no user) under KeyKubeconfig, and the bootstrap signer adds
// one detached signature of it per signing token under
// JWSKeyPrefix+<token id>.
const (
	ClusterInfoName = "cluster-info"
	KeyKubeconfig   = "kubeconfig"
	JWSKeyPrefix    = "jws-kubeconfig-"
)

// DetachedSignature is upstream's detached JWS (RFC 7515 appendix F) of
// content: HS256 keyed with the token's secret, its id as "kid" in the
// protected header, the payload left out ("<header>..<signature>"). A
// joining node that knows the token recomputes it to trust cluster-info
// (kubeadm's discovery; k8s.io/cluster-bootstrap/token/jws writes the
// same bytes).
func DetachedSignature(content string, t Token) string {
	// Field order is the JSON's: go-jose marshals the header as a map,
	// whose keys come sorted.
	header, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"HS256", t.ID})
	h := base64.RawURLEncoding.EncodeToString(header)
	return h + ".." + base64.RawURLEncoding.EncodeToString(jwsMAC(h, content, t.Secret))
}

func jwsMAC(header, content, secret string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(header + "." + base64.RawURLEncoding.EncodeToString([]byte(content))))
	return mac.Sum(nil)
}

// VerifyDetached says whether sig is t's detached signature of content,
// comparing in constant time.
func VerifyDetached(sig, content string, t Token) bool {
	return hmac.Equal([]byte(sig), []byte(DetachedSignature(content, t)))
}
