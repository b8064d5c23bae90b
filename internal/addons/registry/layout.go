package registry

import "path/filepath"

// Layout is where the registry keeps its files. Other components (the
// agent, `kemudi image`, tests) find the registry's CA, certificate and
// admin password here.
type Layout struct {
	// Dir is <data-dir>/registry.
	Dir string
	// Storage is the root of the filesystem storage driver.
	Storage string
	// Users is the htpasswd-style (bcrypt) users file.
	Users string
	// TokenKey and TokenJWKS are the key tokens are signed with and its
	// public half, which the access controller trusts.
	TokenKey, TokenJWKS string
	// Referrers indexes manifests by their subject.
	Referrers string
	// Password holds the admin user's generated password (mode 0600).
	Password string
	// CA is the cluster CA that signed the serving certificate
	// (<data-dir>/tls/ca.crt); Cert and Key are the serving pair.
	CA, Cert, Key string
}

// AdminUser is the user created at first start with a generated password.
const AdminUser = "admin"

// ServingCertName is the serving certificate's name in the cluster PKI
// (<data-dir>/tls/registry-serving.{crt,key}).
const ServingCertName = "registry-serving"

// DefaultPort is where `kemudi server` serves the registry.
const DefaultPort = 5000

// NewLayout lays the registry out under dataDir (kemudi server's
// --data-dir).
func NewLayout(dataDir string) Layout {
	dir := filepath.Join(dataDir, "registry")
	tls := filepath.Join(dataDir, "tls")
	return Layout{
		Dir:       dir,
		Storage:   filepath.Join(dir, "storage"),
		Users:     filepath.Join(dir, "users"),
		TokenKey:  filepath.Join(dir, "token.key"),
		TokenJWKS: filepath.Join(dir, "token.jwks"),
		Referrers: filepath.Join(dir, "referrers"),
		Password:  filepath.Join(dataDir, "registry-password"),
		CA:        filepath.Join(tls, "ca.crt"),
		Cert:      filepath.Join(tls, ServingCertName+".crt"),
		Key:       filepath.Join(tls, ServingCertName+".key"),
	}
}
