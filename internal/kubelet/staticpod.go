package kubelet

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kemudi/kemudi/internal/auth/node"
	podregistry "github.com/kemudi/kemudi/internal/registry/core/pod"
)

// StaticPod is what a manifest file becomes, as upstream's file source
// makes it: the pod named <name>-<node> in its namespace ("default" if
// none), bound to the node, tolerating every NoExecute taint, defaulted
// as the API would, with a UID that is the hash of its content and the
// node (so a kubelet restarted finds the same pod, and an edited file is
// a new one) in the config.hash annotation, and config.source "file".
// It does no I/O.
func StaticPod(data []byte, nodeName string) (*corev1.Pod, error) {
	pod, err := decodePod(data)
	if err != nil {
		return nil, err
	}
	return asStaticPod(pod, nodeName, sourceFile, "")
}

// decodePod reads a v1 Pod, YAML or JSON.
func decodePod(data []byte) (*corev1.Pod, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("not YAML or JSON: %w", err)
	}
	if tm.Kind != "Pod" || tm.APIVersion != "v1" {
		return nil, fmt.Errorf("want a v1 Pod, got kind %q apiVersion %q", tm.Kind, tm.APIVersion)
	}
	pod := &corev1.Pod{}
	// Unknown fields are dropped, as upstream's decoder drops them.
	if err := yaml.Unmarshal(data, pod); err != nil {
		return nil, fmt.Errorf("decode pod: %w", err)
	}
	return pod, nil
}

// asStaticPod names, binds, hashes, defaults and validates a decoded pod
// of the given source. Upstream hashes a file's pod with the node and a
// URL's with the URL, and gives only a file's pods the NoExecute
// toleration; so does this.
func asStaticPod(pod *corev1.Pod, nodeName, source, url string) (*corev1.Pod, error) {
	if pod.Name == "" {
		return nil, fmt.Errorf("metadata.name: Required value")
	}
	if pod.Namespace == "" {
		pod.Namespace = metav1.NamespaceDefault
	}
	// The hash covers the pod as written and where it came from.
	h := md5.New()
	raw, _ := json.Marshal(pod)
	h.Write(raw)
	if source == sourceFile {
		h.Write([]byte(nodeName))
		h.Write([]byte(sourceFile))
	} else {
		h.Write([]byte("url:" + url))
	}
	hash := hex.EncodeToString(h.Sum(nil))

	pod.Name = pod.Name + "-" + strings.ToLower(nodeName)
	pod.UID = types.UID(hash)
	pod.Spec.NodeName = nodeName
	pod.ResourceVersion, pod.Generation = "", 0
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[annotationConfigHash] = hash
	pod.Annotations[annotationConfigSource] = source
	if source == sourceFile {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute})
	}
	podregistry.Default(pod)
	pod.Status = corev1.PodStatus{}
	if errs := podregistry.Validate(pod); len(errs) > 0 {
		return nil, fmt.Errorf("invalid pod: %w", errs.ToAggregate())
	}
	// Nothing would let the node read them, and its mirror pod would be
	// refused.
	what, err := node.StaticPodReference(pod)
	if err != nil {
		return nil, err
	}
	if what != "" {
		return nil, fmt.Errorf("static pods may not reference %s", what)
	}
	return pod, nil
}

// MirrorPod is the API's copy of a static pod: the same object with the
// config.mirror annotation, no UID of its own, owned by the node.
func MirrorPod(static *corev1.Pod, node *corev1.Node) *corev1.Pod {
	m := static.DeepCopy()
	m.UID, m.ResourceVersion = "", ""
	m.Annotations[annotationConfigMirror] = static.Annotations[annotationConfigHash]
	if node != nil {
		m.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: ptr.To(true),
		}}
	}
	return m
}

// MirrorAction is what to do about a static pod's mirror.
type MirrorAction int

// The actions on a mirror pod.
const (
	MirrorKeep    MirrorAction = iota // it is the static pod's, up to date
	MirrorCreate                      // none: create it
	MirrorDelete                      // outdated or being deleted: delete it (then create, next round)
	MirrorBlocked                     // a pod that is not a mirror holds the name
)

// MirrorDecision decides about the mirror of static (nil: the static pod
// is gone) given the pod of that name in the API (nil: none). It does no I/O.
func MirrorDecision(static, inAPI *corev1.Pod) MirrorAction {
	switch {
	case inAPI == nil && static == nil:
		return MirrorKeep
	case inAPI == nil:
		return MirrorCreate
	case !isMirrorPod(inAPI):
		if static == nil {
			return MirrorKeep
		}
		return MirrorBlocked
	case static == nil, inAPI.DeletionTimestamp != nil,
		inAPI.Annotations[annotationConfigMirror] != static.Annotations[annotationConfigHash]:
		return MirrorDelete
	}
	return MirrorKeep
}
