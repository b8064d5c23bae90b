package cluster

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"os"

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
	// Through a temporary file: a node stopped mid-write (a renewal)
	// keeps a whole kubeconfig, old or new.
	tmp := path + ".tmp"
	if err := clientcmd.WriteToFile(*cfg, tmp); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic replaces path's content at once (a reader sees the old
// or the new content, never a part).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// pemPair encodes a certificate and its key as PEM.
func pemPair(cert tls.Certificate) (certPEM, keyPEM []byte, err error) {
	keyPEM, err = keyutil.MarshalPrivateKeyToPEM(cert.PrivateKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), keyPEM, nil
}
