// Package image is the runtime's image service: a content store of blobs
// addressed by digest, pulls from OCI and Docker v2 registries, imports of
// docker-archive and OCI layout tarballs, layers unpacked into overlayfs
// snapshots, and the writable snapshots containers' root filesystems
// (and, mounted read-only, image volumes) are made of.
//
// On disk, under Options.Root:
//
//	content/blobs/sha256/<hex>  manifests, indexes, configs, compressed layers
//	content/blobs/sha512/<hex>  the same, for content addressed by sha512
//	content/ingest/             blobs being written (verified, then renamed)
//	snapshots/<N>/fs            an unpacked layer, or a container's upper dir
//	snapshots/<N>/work          overlay's work dir of a container's snapshot
//	metadata.json               images, the snapshot of each chain ID, rootfs keys
//	tmp/                        imports being read
//
// A committed snapshot is keyed by the chain ID of its layer, so a layer
// two images share is downloaded, stored and unpacked once. Snapshot
// directories are numbered so that an overlay lowerdir option of many
// layers stays short.
package image
