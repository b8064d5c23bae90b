package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kemudi/kemudi/internal/registry"
)

// Docs serves the OpenAPI documents of a set of resources. They are built
// once, on the first request or on Build, and only their serialized,
// gzip-compressed bytes are kept.
type Docs struct {
	resources []*registry.Resource
	docs      func() (*docs, error)
}

// New returns the documents of resources. A resource listed twice (same
// group, version and resource) is served once, from its first entry.
func New(resources []*registry.Resource) *Docs {
	seen := map[schema.GroupVersionResource]bool{}
	var rs []*registry.Resource
	for _, r := range resources {
		gvr := r.GroupVersion.WithResource(r.Resource)
		if seen[gvr] {
			continue
		}
		seen[gvr] = true
		rs = append(rs, r)
	}
	d := &Docs{resources: rs}
	d.docs = sync.OnceValues(d.build)
	return d
}

// Build builds the documents now instead of on the first request; a
// server may call it in the background at start. It is safe to call more
// than once, concurrently with requests.
func (d *Docs) Build() error {
	_, err := d.docs()
	return err
}

// docs is the serialized documents.
type docs struct {
	v2JSON, v2Proto *blob
	v3              map[string]*v3Doc // by path: "api/v1", "apis/apps/v1", ...
	v3Discovery     *blob
}

// v3Doc is one v3 document; its protobuf form is made on first request.
type v3Doc struct {
	json  *blob
	proto func() (*blob, error)
}

// blob is a document as served: gzip-compressed, with the ETag of its
// uncompressed bytes (upstream's: the hex SHA-512).
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

func (d *Docs) build() (*docs, error) {
	// The build allocates spec trees many times the size of the result;
	// hand that memory back to the OS at once rather than keep it as
	// idle heap.
	defer debug.FreeOSMemory()
	b, err := build(d.resources)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	etag := etagOf(b.v2JSON)
	out := &docs{
		// The protobuf document shares the ETag of the JSON one, as
		// upstream's: the Vary header tells them apart.
		v2JSON:  newBlob(b.v2JSON, etag, now),
		v2Proto: newBlob(b.v2Proto, etag, now),
		v3:      map[string]*v3Doc{},
	}
	disc := v3Discovery{Paths: map[string]discoveryPath{}}
	names := make([]string, 0, len(b.v3JSON))
	for name := range b.v3JSON {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		j := newBlob(b.v3JSON[name], etagOf(b.v3JSON[name]), now)
		out.v3[name] = &v3Doc{json: j, proto: sync.OnceValues(func() (*blob, error) {
			raw, err := j.bytes()
			if err != nil {
				return nil, err
			}
			pb, err := v3Proto(raw)
			if err != nil {
				return nil, err
			}
			return newBlob(pb, j.etag, j.modified), nil
		})}
		disc.Paths[name] = discoveryPath{ServerRelativeURL: serverRelativeURL(name, j.etag)}
	}
	raw, err := json.Marshal(disc)
	if err != nil {
		return nil, err
	}
	out.v3Discovery = newBlob(raw, etagOf(raw), now)
	return out, nil
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
