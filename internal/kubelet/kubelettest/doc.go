// Package kubelettest runs a real CRI runtime for the kubelet's tests:
// Debian's containerd (with runc and the CNI plugins) inside a network
// namespace the test creates, its own root, state, socket and CNI
// configuration, and a loopback registry inside that namespace holding
// the test images. Everything is removed when the test ends. It also
// serves static pods on loopback for --manifest-url (ManifestServer).
package kubelettest
