package volume

import (
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The layout of the kubelet's pod directories, shared with readers that
// live apart from the pod workers (the kubelet server's volume stats):
// <root>/pods/<pod uid>/volumes/<plugin>/<volume name>, as upstream.

// Plugin directory names, as upstream's (kubernetes.io~<plugin>).
const (
	PluginEmptyDir    = "kubernetes.io~empty-dir"
	PluginConfigMap   = "kubernetes.io~configmap"
	PluginSecret      = "kubernetes.io~secret"
	PluginDownwardAPI = "kubernetes.io~downward-api"
	PluginProjected   = "kubernetes.io~projected"
)

// PodsDir is where the kubelet rooted at rootDir keeps its pods.
func PodsDir(rootDir string) string { return filepath.Join(rootDir, "pods") }

// PluginsRegistryDir is where plugins (CSI drivers) put their
// registration sockets, as upstream's /var/lib/kubelet/plugins_registry.
func PluginsRegistryDir(rootDir string) string { return filepath.Join(rootDir, "plugins_registry") }

// PodDir is one pod's directory under podsDir (PodsDir's).
func PodDir(podsDir string, uid types.UID) string { return filepath.Join(podsDir, string(uid)) }

// Plugin is the plugin directory of a volume kept in the pod's directory
// (emptyDir, configMap, secret, downwardAPI, projected); "" for the
// others, whose data lives elsewhere (hostPath, claims).
func Plugin(v *corev1.Volume) string {
	switch {
	case v.EmptyDir != nil:
		return PluginEmptyDir
	case v.ConfigMap != nil:
		return PluginConfigMap
	case v.Secret != nil:
		return PluginSecret
	case v.DownwardAPI != nil:
		return PluginDownwardAPI
	case v.Projected != nil:
		return PluginProjected
	}
	return ""
}

// Dir is the host directory of a volume of plugin in the pod's directory.
func Dir(podDir, plugin, name string) string {
	return filepath.Join(podDir, "volumes", plugin, name)
}
