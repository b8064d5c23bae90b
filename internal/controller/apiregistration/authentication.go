package apiregistration

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// AuthenticationConfigMap is where aggregated servers built on
// k8s.io/apiserver read how to trust the API server's requests.
const (
	AuthenticationNamespace = "kube-system"
	AuthenticationConfigMap = "extension-apiserver-authentication"
)

// AuthenticationData is the ConfigMap's data as upstream writes it: the
// CA of client certificates, and the front proxy's CA, allowed names and
// identity headers.
func AuthenticationData(clientCA, requestHeaderCA []byte, allowedNames []string) map[string]string {
	list := func(items ...string) string {
		b, _ := json.Marshal(items)
		return string(b)
	}
	if allowedNames == nil {
		allowedNames = []string{}
	}
	return map[string]string{
		"client-ca-file":                     string(clientCA),
		"requestheader-client-ca-file":       string(requestHeaderCA),
		"requestheader-allowed-names":        list(allowedNames...),
		"requestheader-username-headers":     list("X-Remote-User"),
		"requestheader-uid-headers":          list("X-Remote-Uid"),
		"requestheader-group-headers":        list("X-Remote-Group"),
		"requestheader-extra-headers-prefix": list("X-Remote-Extra-"),
	}
}

// publishAuthentication writes the ConfigMap (creating or correcting it),
// retrying until it is written or ctx ends.
func publishAuthentication(ctx context.Context, client kubernetes.Interface, data map[string]string, log *slog.Logger) {
	if data == nil {
		return
	}
	for {
		err := writeAuthentication(ctx, client, data)
		if err == nil || ctx.Err() != nil {
			return
		}
		log.Debug("write the extension-apiserver-authentication ConfigMap", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func writeAuthentication(ctx context.Context, client kubernetes.Interface, data map[string]string) error {
	cms := client.CoreV1().ConfigMaps(AuthenticationNamespace)
	cm, err := cms.Get(ctx, AuthenticationConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: AuthenticationConfigMap, Namespace: AuthenticationNamespace},
			Data:       data,
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	if maps.Equal(cm.Data, data) {
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = data
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return err
}
