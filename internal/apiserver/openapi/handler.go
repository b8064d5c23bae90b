package openapi

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/munnerz/goautoneg"
)

// The media types of the documents, as kube-openapi's handlers serve
// them. A client may ask for protobuf under either name; the answer
// always carries the second one.
const (
	v2ProtobufDeprecated = "com.github.proto-openapi.spec.v2@v1.0+protobuf"
	v2Protobuf           = "com.github.proto-openapi.spec.v2.v1.0+protobuf"
	v3ProtobufDeprecated = "com.github.proto-openapi.spec.v3@v1.0+protobuf"
	v3Protobuf           = "com.github.proto-openapi.spec.v3.v1.0+protobuf"
)

// Handler serves /openapi/v2, /openapi/v3 and /openapi/v3/<group version>.
// Mount it at /openapi/ (and /openapi/v2, /openapi/v3 if the mux does
// not route those to the subtree). It is d itself, so that a server
// holding the handler may tell it the CRDs (SetCRDs).
func (d *Docs) Handler() http.Handler { return d }

// ServeHTTP serves the documents, as Handler.
func (d *Docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/openapi/v2":
		d.ServeV2(w, r)
	case r.URL.Path == "/openapi/v3" || strings.HasPrefix(r.URL.Path, "/openapi/v3/"):
		d.ServeV3(w, r)
	default:
		http.NotFound(w, r)
	}
}

// ServeV2 serves the swagger 2.0 document in JSON or, as kubectl asks
// for it, protobuf.
func (d *Docs) ServeV2(w http.ResponseWriter, r *http.Request) {
	if !getOrHead(w, r) {
		return
	}
	w.Header().Add("Vary", "Accept")
	subtype, ok := negotiate(r, "json", v2ProtobufDeprecated, v2Protobuf)
	if !ok {
		w.WriteHeader(http.StatusNotAcceptable)
		return
	}
	get, contentType := d.v2JSON, "application/json"
	if subtype != "json" {
		get, contentType = d.v2Proto, "application/"+v2Protobuf
	}
	crds, err := d.crdV2Doc()
	if err != nil {
		d.logger().Error("openapi: describing custom resources failed", "component", "apiserver", "err", err)
		unavailable(w)
		return
	}
	if crds != nil {
		get = crds.proto
		if subtype == "json" {
			get = func() (*blob, error) { return crds.json, nil }
		}
	}
	b, err := get()
	if err != nil {
		unavailable(w)
		return
	}
	serve(w, r, b, contentType)
}

// ServeV3 serves the v3 discovery document at /openapi/v3 and one group
// version's document at /openapi/v3/api/v1, /openapi/v3/apis/apps/v1 ...
// A request whose hash is the document's ETag may be cached for good; one
// with a stale hash is redirected to the current one.
func (d *Docs) ServeV3(w http.ResponseWriter, r *http.Request) {
	if !getOrHead(w, r) {
		return
	}
	docs, err := d.v3()
	if err != nil {
		unavailable(w)
		return
	}
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, "/openapi/v3"), "/")
	if name == "" {
		disc, err := d.crdV3Discovery(docs)
		if err != nil {
			d.logger().Error("openapi: describing custom resources failed", "component", "apiserver", "err", err)
			unavailable(w)
			return
		}
		serve(w, r, disc, "application/json")
		return
	}
	// A built-in group version's document is the same with CRDs or
	// without.
	doc := docs.docs[name]
	if doc == nil {
		if doc, err = d.crdV3Doc(docs, name); err != nil {
			d.logger().Error("openapi: describing custom resources failed", "component", "apiserver", "err", err)
			unavailable(w)
			return
		}
	}
	if doc == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Add("Vary", "Accept")
	subtype, ok := negotiate(r, "json", v3Protobuf, v3ProtobufDeprecated)
	if !ok {
		w.WriteHeader(http.StatusNotAcceptable)
		return
	}
	b, contentType := doc.json, "application/json"
	if subtype != "json" {
		if b, err = doc.proto(); err != nil {
			unavailable(w)
			return
		}
		contentType = "application/" + v3Protobuf
	}
	if hash := r.URL.Query().Get("hash"); hash != "" {
		if hash != b.etag {
			http.Redirect(w, r, serverRelativeURL(name, b.etag), http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "public, immutable")
		w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).Format(time.RFC1123))
	}
	serve(w, r, b, contentType)
}

func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	w.WriteHeader(http.StatusMethodNotAllowed)
	return false
}

// unavailable answers for a document that could not be built (the
// build logged why).
func unavailable(w http.ResponseWriter) {
	w.WriteHeader(http.StatusServiceUnavailable)
}

// negotiate returns the first of the application/ subtypes that the
// Accept header allows, in the client's order of preference.
func negotiate(r *http.Request, subtypes ...string) (string, bool) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	for _, c := range goautoneg.ParseAccept(accept) {
		if c.Type != "application" && c.Type != "*" {
			continue
		}
		for _, s := range subtypes {
			if c.SubType == s || c.SubType == "*" {
				return s, true
			}
		}
	}
	return "", false
}

// serve writes a document, gzip-compressed when the client takes gzip,
// answering conditional requests (If-None-Match, If-Modified-Since) with
// 304 as http.ServeContent does.
func serve(w http.ResponseWriter, r *http.Request, b *blob, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Etag", strconv.Quote(b.etag))
	h.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		// Byte ranges would be ranges of the compressed stream.
		r = r.Clone(r.Context())
		r.Header.Del("Range")
		http.ServeContent(w, r, "", b.modified, bytes.NewReader(b.gz))
		return
	}
	raw, err := b.bytes()
	if err != nil {
		unavailable(w)
		return
	}
	http.ServeContent(w, r, "", b.modified, bytes.NewReader(raw))
}

// acceptsGzip reports whether Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
