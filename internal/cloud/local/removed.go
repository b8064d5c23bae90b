package local

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// The local "cloud" keeps its record of removed machines in the API, in
// the ConfigMap kube-system/kemudi-removed-nodes: one key per machine
// (its node name), valued with the time it was removed (RFC 3339). A
// Node's own annotations could not hold it: the record must outlive the
// Node, so that a kubelet registering it again is turned away. Every
// other machine that joined is an instance.
const (
	RemovedNamespace = metav1.NamespaceSystem
	RemovedConfigMap = "kemudi-removed-nodes"
)

// bootstrapUserPrefix names the users of bootstrap tokens: a node client
// CSR made by one is a machine joining with a token.
const bootstrapUserPrefix = "system:bootstrap:"

// MarkRemoved records machine name as removed at now: from then on the
// provider says its instance does not exist, until it joins again with
// a token. Its earlier token joins are deleted first: they are done, and
// times are whole seconds, so one made in the second of the removal
// would otherwise count as a join after it.
func MarkRemoved(ctx context.Context, client kubernetes.Interface, name string, now time.Time) error {
	if err := forgetJoins(ctx, client, name); err != nil {
		return err
	}
	at := now.UTC().Format(time.RFC3339)
	cms := client.CoreV1().ConfigMaps(RemovedNamespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, RemovedConfigMap, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: RemovedConfigMap, Namespace: RemovedNamespace}, Data: map[string]string{name: at}}
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// Someone else made it first: once more, as an update.
				return apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, RemovedConfigMap, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[name] = at
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("record machine %s as removed in %s/%s: %w", name, RemovedNamespace, RemovedConfigMap, err)
	}
	return nil
}

// removedAt reads when machine name was removed; ok is false for a
// machine that is not (or no longer) removed.
func removedAt(cm *corev1.ConfigMap, name string) (at time.Time, ok bool) {
	if cm == nil {
		return time.Time{}, false
	}
	v, has := cm.Data[name]
	if !has {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		// A value edited by hand still says removed; since ever.
		return time.Time{}, true
	}
	return at, true
}

// rejoined says whether machine name joined again with a token after it
// was removed at: an approved token join (tokenJoin) since that time
// (both are whole seconds: one in the second of the removal counts; the
// joins before it were deleted by MarkRemoved). A kubelet renewing its
// certificate (its CSR made as the node itself) is not a rejoin.
func rejoined(name string, at time.Time, csrs []certificatesv1.CertificateSigningRequest) bool {
	for i := range csrs {
		c := &csrs[i]
		if tokenJoin(c, name) && !c.CreationTimestamp.Time.Before(at) && approved(c) {
			return true
		}
	}
	return false
}

// tokenJoin says whether c is machine name joining with a token: a node
// client CSR for system:node:<name> made by a bootstrap token's user.
func tokenJoin(c *certificatesv1.CertificateSigningRequest, name string) bool {
	return c.Spec.SignerName == certificatesv1.KubeAPIServerClientKubeletSignerName &&
		strings.HasPrefix(c.Spec.Username, bootstrapUserPrefix) &&
		csrCommonName(c.Spec.Request) == "system:node:"+name
}

// forgetJoins deletes machine name's token joins.
func forgetJoins(ctx context.Context, client kubernetes.Interface, name string) error {
	csrs, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list certificate signing requests: %w", err)
	}
	for i := range csrs.Items {
		c := &csrs.Items[i]
		if !tokenJoin(c, name) {
			continue
		}
		if err := client.CertificatesV1().CertificateSigningRequests().Delete(ctx, c.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete machine %s's join %s: %w", name, c.Name, err)
		}
	}
	return nil
}

func approved(c *certificatesv1.CertificateSigningRequest) bool {
	ok := false
	for _, cond := range c.Status.Conditions {
		switch cond.Type {
		case certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			return false
		case certificatesv1.CertificateApproved:
			ok = true
		}
	}
	return ok
}

func csrCommonName(request []byte) string {
	block, _ := pem.Decode(request)
	if block == nil {
		return ""
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return ""
	}
	return req.Subject.CommonName
}

// removed says whether node's machine was removed and has not joined
// again; a machine that joined again is struck from the record.
func (p *Provider) removed(ctx context.Context, node *corev1.Node) (bool, error) {
	client, err := p.apiClient()
	if err != nil {
		return false, err
	}
	cm, err := client.CoreV1().ConfigMaps(RemovedNamespace).Get(ctx, RemovedConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the removed machines (%s/%s): %w", RemovedNamespace, RemovedConfigMap, err)
	}
	at, ok := removedAt(cm, node.Name)
	if !ok {
		return false, nil
	}
	csrs, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, fmt.Errorf("list certificate signing requests: %w", err)
	}
	if !rejoined(node.Name, at, csrs.Items) {
		return true, nil
	}
	if err := forget(ctx, client, node.Name); err != nil {
		return false, err
	}
	return false, nil
}

// forget strikes machine name from the record of removed machines.
func forget(ctx context.Context, client kubernetes.Interface, name string) error {
	cms := client.CoreV1().ConfigMaps(RemovedNamespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, RemovedConfigMap, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, has := cm.Data[name]; !has {
			return nil
		}
		delete(cm.Data, name)
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("strike rejoined machine %s from %s/%s: %w", name, RemovedNamespace, RemovedConfigMap, err)
	}
	return nil
}
