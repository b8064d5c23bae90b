package image

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// reference is a parsed, docker-normalized image reference.
type reference struct {
	registry string // "docker.io", "127.0.0.1:5000"
	repo     string // "library/busybox"
	tag      string // "" when by digest only
	digest   string // "sha256:..." or ""
}

// name is "registry/repo".
func (r reference) name() string { return r.registry + "/" + r.repo }

// String is the normalized reference: name:tag, or name@digest when pulled
// by digest.
func (r reference) String() string {
	if r.digest != "" {
		return r.name() + "@" + r.digest
	}
	return r.name() + ":" + r.tag
}

// tagged is "name:tag", "" for a digest reference.
func (r reference) tagged() string {
	if r.digest != "" || r.tag == "" {
		return ""
	}
	return r.name() + ":" + r.tag
}

// parseReference normalizes like docker: "busybox" is
// docker.io/library/busybox:latest. A digest wins over a tag
// ("name:tag@sha256:..." pulls the digest).
func parseReference(s string) (reference, error) {
	if s == "" || strings.TrimSpace(s) != s {
		return reference{}, fmt.Errorf("%w: %q", ErrInvalidReference, s)
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return reference{}, fmt.Errorf("%w: %q: %v", ErrInvalidReference, s, err)
	}
	r := reference{registry: ref.Context().RegistryStr(), repo: ref.Context().RepositoryStr()}
	if r.registry == name.DefaultRegistry {
		r.registry = "docker.io"
	}
	switch v := ref.(type) {
	case name.Digest:
		r.digest = v.DigestStr()
		// go-digest also parses sha384; the OCI image spec registers
		// sha256 and sha512 only, and so does the store.
		if algo, _, _ := strings.Cut(r.digest, ":"); !slices.Contains(digestAlgorithms, algo) {
			return reference{}, fmt.Errorf("%w: %q: unsupported digest algorithm %q (sha256 and sha512 are)", ErrInvalidReference, s, algo)
		}
	case name.Tag:
		r.tag = v.TagStr()
	}
	return r, nil
}
