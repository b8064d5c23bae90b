// Package serviceaccount holds upstream's service account controllers:
//
//   - serviceaccount: every active namespace has a "default"
//     ServiceAccount (recreated when deleted);
//   - root-ca-cert-publisher: every active namespace has the
//     kube-root-ca.crt ConfigMap with the cluster CA (ca.crt);
//   - serviceaccount-token: Secrets of type kubernetes.io/service-account-token
//     are filled in (token, ca.crt, namespace) and deleted with their
//     account.
//
// Unlike upstream, the token controller holds no signing key: it asks the
// API server's TokenRequest for a token bound to the secret (valid while
// the secret and the account exist), so that only the API server ever
// holds the key.
package serviceaccount
