package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path"
	"runtime/debug"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
)

// Docs serves the OpenAPI documents of a set of resources. Each document
// is built on its first request (or by Build) and only its serialized,
// gzip-compressed bytes are kept: the v2 document in JSON, its protobuf
// form, and the v3 documents with their discovery document (their
// protobuf forms are made on request too).
type Docs struct {
	// Logger receives the errors of failed builds, once each; nil means
	// slog.Default(). Set it before the first request.
	Logger *slog.Logger

	resources []*registry.Resource

	v2JSON  func() (*blob, error)
	v2Proto func() (*blob, error)
	v3      func() (*v3Docs, error)

	// crd follows the CRDs (crd.go).
	crd crdFeed
}

// New returns the documents of resources. A resource listed twice (same
// group, version and resource) is served once, from its first entry.
func New(resources []*registry.Resource) *Docs {
	d := &Docs{resources: unique(resources)}
	d.v2JSON = sync.OnceValues(logged(d, d.buildV2JSON))
	d.v2Proto = sync.OnceValues(d.buildV2Proto)
	d.v3 = sync.OnceValues(logged(d, d.buildV3))
	return d
}

// logged logs the error of a build. A build that failed stays failed:
// the definitions are generated, so it would fail again.
func logged[T any](d *Docs, build func() (T, error)) func() (T, error) {
	return func() (T, error) {
		v, err := build()
		if err != nil {
			d.logger().Error("openapi: building a document failed", "component", "apiserver", "err", err)
		}
		return v, err
	}
}

func (d *Docs) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

func unique(resources []*registry.Resource) []*registry.Resource {
	seen := map[schema.GroupVersionResource]bool{}
	var rs []*registry.Resource
	for _, r := range resources {
		gvr := r.GroupVersion.WithResource(r.Resource)
		if !seen[gvr] {
			seen[gvr] = true
			rs = append(rs, r)
		}
	}
	return rs
}

// Build builds the documents kubectl reads (v2 in JSON and protobuf, v3
// in JSON) now instead of on their first request; a server may call it
// in the background at start. It is safe to call more than once,
// concurrently with requests.
func (d *Docs) Build() error {
	if _, err := d.v2Proto(); err != nil {
		return err
	}
	_, err := d.v3()
	return err
}

// blob is a document as served: gzip-compressed, with the ETag of its
// uncompressed bytes (upstream's: the hex SHA-512 of the JSON form).
type blob struct {
	gz       []byte
	etag     string
	modified time.Time
}

func newBlob(b []byte, etag string, modified time.Time) *blob {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return &blob{gz: bytes.Clone(buf.Bytes()), etag: etag, modified: modified}
}

// bytes returns the uncompressed document.
func (b *blob) bytes() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b.gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func etagOf(b []byte) string {
	return fmt.Sprintf("%X", sha512.Sum512(b))
}

// A build allocates spec trees many times the size of its result: each
// one hands that memory back to the OS at once rather than keep it as
// idle heap.

func (d *Docs) buildV2JSON() (*blob, error) {
	defer debug.FreeOSMemory()
	b, err := buildV2JSON(d.resources)
	if err != nil {
		return nil, err
	}
	return newBlob(b, etagOf(b), time.Now()), nil
}

func (d *Docs) buildV2Proto() (*blob, error) {
	j, err := d.v2JSON() // logged its own error
	if err != nil {
		return nil, err
	}
	return logged(d, func() (*blob, error) { return protoBlob(j, v2Proto) })()
}

// protoBlob converts a JSON document to protobuf. The protobuf form
// shares the ETag of the JSON one, as upstream's: the Vary header tells
// them apart.
func protoBlob(j *blob, convert func([]byte) ([]byte, error)) (*blob, error) {
	defer debug.FreeOSMemory()
	raw, err := j.bytes()
	if err != nil {
		return nil, err
	}
	pb, err := convert(raw)
	if err != nil {
		return nil, err
	}
	return newBlob(pb, j.etag, j.modified), nil
}

// v3Docs is the v3 documents, by path ("api/v1", "apis/apps/v1", ...),
// and the discovery document that lists them.
type v3Docs struct {
	docs      map[string]*v3Doc
	discovery *blob
}

// v3Doc is one v3 document; its protobuf form is made on first request.
type v3Doc struct {
	json  *blob
	proto func() (*blob, error)
}

func (d *Docs) buildV3() (*v3Docs, error) {
	defer debug.FreeOSMemory()
	built, err := buildV3JSON(d.resources)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := &v3Docs{docs: map[string]*v3Doc{}}
	for name, b := range built {
		out.docs[name] = d.newV3Doc(newBlob(b, etagOf(b), now))
	}
	if out.discovery, err = discoveryOf(out.docs, now); err != nil {
		return nil, err
	}
	return out, nil
}

// newV3Doc is a v3 document in JSON; its protobuf form is made on first
// request.
func (d *Docs) newV3Doc(j *blob) *v3Doc {
	return &v3Doc{json: j, proto: sync.OnceValues(logged(d, func() (*blob, error) {
		return protoBlob(j, v3Proto)
	}))}
}

// discoveryOf is the /openapi/v3 document listing docs with their hashes.
func discoveryOf(docs map[string]*v3Doc, now time.Time) (*blob, error) {
	disc := v3Discovery{Paths: make(map[string]discoveryPath, len(docs))}
	for name, doc := range docs {
		disc.Paths[name] = discoveryPath{ServerRelativeURL: serverRelativeURL(name, doc.json.etag)}
	}
	raw, err := json.Marshal(disc)
	if err != nil {
		return nil, err
	}
	return newBlob(raw, etagOf(raw), now), nil
}

// v3Discovery is the /openapi/v3 document: where each group version's
// document is, with its hash so that clients may cache it for good.
type v3Discovery struct {
	Paths map[string]discoveryPath `json:"paths"`
}

type discoveryPath struct {
	ServerRelativeURL string `json:"serverRelativeURL"`
}

func serverRelativeURL(name, etag string) string {
	u := url.URL{Path: path.Join("/openapi/v3", name), RawQuery: url.Values{"hash": {etag}}.Encode()}
	return u.String()
}
