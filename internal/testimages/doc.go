// Package testimages makes the images tests run: a registry on loopback
// (go-containerregistry's in-memory registry), layers and images built in
// Go from lists of files, a busybox image from the host's busybox-static
// (/bin/busybox), images of static Go programs FROM scratch, multi-arch
// indexes, and docker-archive / OCI layout tarballs of images.
//
// A test typically does:
//
//	reg, err := testimages.NewRegistry() // or NewRegistry(testimages.BasicAuth("u", "p"))
//	t.Cleanup(reg.Close)
//	img, err := testimages.Busybox()
//	byDigest, err := reg.Push("busybox:1", img) // "127.0.0.1:<port>/busybox@sha256:..."
//	ref := reg.Ref("busybox:1")                  // "127.0.0.1:<port>/busybox:1"
//
// An image pushed as "library/busybox:latest" is what docker.io/library/busybox
// resolves to through a registries.yaml mirror of docker.io pointing at
// "http://" + reg.Host.
//
// Nothing here contacts anything beyond the machine.
package testimages
