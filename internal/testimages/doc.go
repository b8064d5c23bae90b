// Package testimages makes the images tests run: a registry on loopback
// (go-containerregistry's in-memory registry), layers and images built in
// Go from lists of files, a busybox image from the host's busybox-static
// (/bin/busybox), images of static Go programs FROM scratch, multi-arch
// indexes, and docker-archive / OCI layout tarballs of images.
//
// Nothing here contacts anything beyond the machine.
package testimages
