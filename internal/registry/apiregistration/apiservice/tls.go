package apiservice

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"

	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// ClientCertificate is tls.Config.GetClientCertificate: the front proxy's
// client certificate as of the handshake that asks for it.
type ClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error)

// ServerName is the name an aggregated server's certificate must hold:
// <service>.<namespace>.svc, as upstream checks.
func ServerName(svc *apiregistrationv1.APIService) string {
	if svc.Spec.Service == nil {
		return ""
	}
	return svc.Spec.Service.Name + "." + svc.Spec.Service.Namespace + ".svc"
}

// ClientTLS is the TLS configuration for reaching svc's server: its
// certificate is checked against spec.caBundle (the system roots when
// empty) for ServerName, unless spec.insecureSkipTLSVerify; cert, when
// set, gives the front proxy's client certificate at each handshake (so
// a renewed one is presented from the next connection on). HTTP/1.1
// only, so that upgrades pass through.
func ClientTLS(svc *apiregistrationv1.APIService, cert ClientCertificate) (*tls.Config, error) {
	c := &tls.Config{
		ServerName:         ServerName(svc),
		InsecureSkipVerify: svc.Spec.InsecureSkipTLSVerify,
		MinVersion:         tls.VersionTLS12,
		NextProtos:         []string{"http/1.1"},
	}
	if len(svc.Spec.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(svc.Spec.CABundle) {
			return nil, fmt.Errorf("spec.caBundle of APIService %s holds no PEM certificate", svc.Name)
		}
		c.RootCAs = pool
	}
	c.GetClientCertificate = cert
	return c, nil
}
