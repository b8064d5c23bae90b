package kubelet

import (
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// maxManifestBody bounds what is read from the manifest URL (upstream's
// maxConfigLength); maxBodyInError bounds how much of a body an error
// quotes (upstream quotes it all, up to 10 MiB, in every log line).
const (
	maxManifestBody = 10 << 20
	maxBodyInError  = 512
)

// URLPods are the static pods of a manifest URL's body, as upstream's
// URL source reads it: one v1 Pod or a v1 PodList, YAML or JSON; each
// pod named <name>-<node>, bound to the node, defaulted and validated,
// its UID the hash of its content and the URL, config.source "http".
// One bad pod fails the whole body (the caller keeps its last good set).
// manifestURL is only hashed and quoted in errors; it does no I/O.
func URLPods(body []byte, manifestURL, nodeName string) ([]*corev1.Pod, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(body, &tm); err != nil {
		err = fmt.Errorf("not YAML or JSON: %w", err)
		return nil, notPods(body, manifestURL, err, err)
	}
	switch {
	case tm.APIVersion == "v1" && tm.Kind == "Pod":
		pod := &corev1.Pod{}
		if err := yaml.Unmarshal(body, pod); err != nil {
			return nil, fmt.Errorf("decode pod: %w", err)
		}
		p, err := asStaticPod(pod, nodeName, sourceHTTP, manifestURL)
		if err != nil {
			return nil, err
		}
		return []*corev1.Pod{p}, nil
	case tm.APIVersion == "v1" && tm.Kind == "PodList":
		list := &corev1.PodList{}
		if err := yaml.Unmarshal(body, list); err != nil {
			return nil, fmt.Errorf("decode pod list: %w", err)
		}
		out := make([]*corev1.Pod, 0, len(list.Items))
		for i := range list.Items {
			pod := &list.Items[i]
			// As a single pod would be: a pod moved into a list keeps its UID.
			pod.APIVersion, pod.Kind = "v1", "Pod"
			p, err := asStaticPod(pod, nodeName, sourceHTTP, manifestURL)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			out = append(out, p)
		}
		return out, nil
	}
	return nil, notPods(body, manifestURL,
		fmt.Errorf("want a v1 Pod, got kind %q apiVersion %q", tm.Kind, tm.APIVersion),
		fmt.Errorf("want a v1 PodList, got kind %q apiVersion %q", tm.Kind, tm.APIVersion))
}

// notPods is upstream's error for a body that is neither a pod nor a list.
func notPods(body []byte, manifestURL string, single, multiple error) error {
	quoted := string(body)
	if len(body) > maxBodyInError {
		quoted = fmt.Sprintf("%s... (%d bytes)", body[:maxBodyInError], len(body))
	}
	return fmt.Errorf("%s: received '%s', but couldn't parse as single (%v) or multiple pods (%v)", redacted(manifestURL), quoted, single, multiple)
}

// redacted is the URL without its password, for errors and logs.
func redacted(manifestURL string) string {
	u, err := url.Parse(manifestURL)
	if err != nil {
		return manifestURL
	}
	return u.Redacted()
}
