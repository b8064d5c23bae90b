package cluster

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/keyutil"
)

// WriteKubeconfig writes a kubeconfig for server that authenticates with
// the client certificate cert.
func WriteKubeconfig(path, server string, caPEM []byte, cert tls.Certificate) error {
	certPEM, keyPEM, err := pemPair(cert)
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kemudi"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["kemudi"] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts["kemudi"] = &clientcmdapi.Context{Cluster: "kemudi", AuthInfo: "kemudi", Namespace: "default"}
	cfg.CurrentContext = "kemudi"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// pemPair encodes a certificate and its key as PEM.
func pemPair(cert tls.Certificate) (certPEM, keyPEM []byte, err error) {
	keyPEM, err = keyutil.MarshalPrivateKeyToPEM(cert.PrivateKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), keyPEM, nil
}
