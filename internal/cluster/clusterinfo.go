package cluster

import (
	"context"
	"crypto/tls"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"

	"github.com/kemudi/kemudi/internal/auth/bootstrap"
)

// ClusterInfoReader is kubeadm's Role and RoleBinding that let anyone,
// credentials or not, read kube-public/cluster-info: a joining node reads
// it before it has a credential and trusts it by its token's signature.
const ClusterInfoReader = "kubeadm:bootstrap-signer-clusterinfo"

// clusterInfoKubeconfig is the kubeconfig kubeadm publishes in
// cluster-info: one cluster, named "", with the API's URL a node uses and
// the cluster CA; no user, no context.
func clusterInfoKubeconfig(server string, caPEM []byte) (string, error) {
	cfg := clientcmdapi.Config{Clusters: map[string]*clientcmdapi.Cluster{
		"": {Server: server, CertificateAuthorityData: caPEM},
	}}
	b, err := clientcmd.Write(cfg)
	if err != nil {
		return "", fmt.Errorf("cluster-info kubeconfig: %w", err)
	}
	return string(b), nil
}

// clusterInfoRBAC is kubeadm's grant of get on cluster-info to
// system:anonymous.
func clusterInfoRBAC() []runtime.Object {
	return []runtime.Object{
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: ClusterInfoReader, Namespace: metav1.NamespacePublic},
			Rules: []rbacv1.PolicyRule{{
				Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"},
				ResourceNames: []string{bootstrap.ClusterInfoName},
			}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: ClusterInfoReader, Namespace: metav1.NamespacePublic},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: ClusterInfoReader},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "system:anonymous"}},
		},
	}
}

// ensureClusterInfo creates kube-public/cluster-info, or sets its
// kubeconfig when the server's URL or CA changed since it was written
// (kubeadm's bootstrap-token phase); the bootstrap signer's keys stay
// (it re-signs a changed kubeconfig).
func ensureClusterInfo(ctx context.Context, client kubernetes.Interface, server string, caPEM []byte) error {
	content, err := clusterInfoKubeconfig(server, caPEM)
	if err != nil {
		return err
	}
	cms := client.CoreV1().ConfigMaps(metav1.NamespacePublic)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, bootstrap.ClusterInfoName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = cms.Create(ctx, &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: bootstrap.ClusterInfoName, Namespace: metav1.NamespacePublic},
				Data:       map[string]string{bootstrap.KeyKubeconfig: content},
			}, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// Another server of the cluster made it: look again.
				return apierrors.NewConflict(corev1.Resource("configmaps"), bootstrap.ClusterInfoName, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		if cm.Data[bootstrap.KeyKubeconfig] == content {
			return nil
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[bootstrap.KeyKubeconfig] = content
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("publish cluster-info: %w", err)
	}
	return nil
}

// publishClusterInfo makes cluster-info name server and the CA, as the
// admin, and grants anonymous reads of it.
func (s *Server) publishClusterInfo(ctx context.Context, server string, admin tls.Certificate) error {
	if err := s.api.EnsureObjects(ctx, clusterInfoRBAC()...); err != nil {
		return fmt.Errorf("cluster-info RBAC: %w", err)
	}
	certPEM, keyPEM, err := pemPair(admin)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(&rest.Config{
		Host:            s.URL,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.PKI.CAPEM(), CertData: certPEM, KeyData: keyPEM},
	})
	if err != nil {
		return err
	}
	return ensureClusterInfo(ctx, client, server, s.PKI.CAPEM())
}
