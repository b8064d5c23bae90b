package image

import (
	"errors"
	"log/slog"
	"time"
)

// Options configures a Store.
type Options struct {
	// Root holds everything: content/ (blobs by digest), snapshots/
	// (unpacked layers) and the metadata.
	Root string
	// RegistryConfig is the path of a registries.yaml in k3s's format
	// (mirrors, configs: auth, tls insecure_skip_verify/ca_file/cert_file/
	// key_file, and plain-HTTP endpoints); "" = none.
	RegistryConfig string
	// RegistryTimeout bounds how long a registry may stay silent: to
	// connect, to answer a request, and between two reads of a body. A
	// registry that hangs fails the pull after it. 0 = one minute.
	RegistryTimeout time.Duration
	Log             *slog.Logger
}

// Image is an image in the store.
type Image struct {
	ID          string   // "sha256:<config digest>"
	RepoTags    []string // normalized: "docker.io/library/busybox:latest", "127.0.0.1:5000/app:1"
	RepoDigests []string // "127.0.0.1:5000/app@sha256:<manifest digest>"
	Size        uint64   // sum of the layers' compressed sizes
	Config      ImageConfig
}

// ImageConfig is what a runtime needs of an image's config.
type ImageConfig struct {
	User, WorkingDir, StopSignal string
	Env, Entrypoint, Cmd         []string
	Labels                       map[string]string
	ExposedPorts, Volumes        []string
}

// Auth are registry credentials, as runtimeapi.AuthConfig.
type Auth struct {
	Username, Password, Auth, IdentityToken, RegistryToken, ServerAddress string
}

// Usage is the space a snapshot takes.
type Usage struct{ Bytes, Inodes uint64 }

// FsInfo describes the image filesystem.
type FsInfo struct {
	Mountpoint string
	Usage
}

var (
	// ErrNotFound: no such image (in the store, or in the registry), or no
	// such rootfs.
	ErrNotFound = errors.New("not found")
	// ErrInvalidReference: a malformed image reference.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrUnauthorized: the registry refused the credentials (401/403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrAlreadyExists: a rootfs key in use.
	ErrAlreadyExists = errors.New("already exists")
	// ErrAmbiguous: an ID prefix matching more than one image.
	ErrAmbiguous = errors.New("ambiguous image ID prefix")
)
