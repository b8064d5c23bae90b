package apiserver

import (
	"mime"
	"net/http"
	"strings"

	"github.com/munnerz/goautoneg"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// serializers are the codecs for the media types the server speaks.
type serializers struct {
	json, jsonStrict, jsonPretty *json.Serializer
	yaml, yamlStrict             *json.Serializer
	protobuf                     *protobuf.Serializer
}

func newSerializers(scheme *runtime.Scheme) *serializers {
	mk := func(yaml, pretty, strict bool) *json.Serializer {
		return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: yaml, Pretty: pretty, Strict: strict})
	}
	return &serializers{
		json: mk(false, false, false), jsonStrict: mk(false, false, true), jsonPretty: mk(false, true, false),
		yaml: mk(true, false, false), yamlStrict: mk(true, false, true),
		protobuf: protobuf.NewSerializer(scheme, scheme),
	}
}

// decoder returns the decoder for a request body's Content-Type, or false
// when the server does not accept that type (415).
func (s *serializers) decoder(contentType string, strict bool) (runtime.Decoder, bool) {
	switch mediaOf(contentType) {
	case mediaJSON, "":
		if strict {
			return s.jsonStrict, true
		}
		return s.json, true
	case mediaYAML:
		if strict {
			return s.yamlStrict, true
		}
		return s.yaml, true
	case mediaProtobuf:
		return s.protobuf, true
	}
	return nil, false
}

// mediaOf is a Content-Type's media type, without parameters.
func mediaOf(contentType string) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return mt
	}
	return contentType
}

// output is what a response should be: its media type and, for
// meta.k8s.io transformations, what to turn the object into.
type output struct {
	mediaType string
	// as is "", "Table", "PartialObjectMetadata" or
	// "PartialObjectMetadataList" (the Accept header's as= parameter).
	as string
	// asVersion is the meta.k8s.io version asked for with as=.
	asVersion string
	// discovery is set when the client asked for aggregated discovery.
	discovery bool
	pretty    bool
	// contentType overrides mediaType in the Content-Type header.
	contentType string
}

func (o output) encoder(s *serializers) runtime.Encoder {
	switch o.mediaType {
	case mediaYAML:
		return s.yaml
	case mediaProtobuf:
		return s.protobuf
	}
	if o.pretty {
		return s.jsonPretty
	}
	return s.json
}

// negotiate picks the response type from the Accept header. It returns
// false when nothing acceptable can be produced (406).
func negotiate(r *http.Request) (output, bool) {
	return negotiateWith(r, true, true)
}

// negotiatePlain is negotiate for endpoints that answer only their own
// kind (reviews): a Table or object metadata is not acceptable, so such
// a clause is passed over for the next one (406 when none is left), as
// upstream does for a backend that does not implement metadata.
func negotiatePlain(r *http.Request) (output, bool) {
	return negotiateWith(r, true, false)
}

// negotiateWith is negotiate; without protobuf, a client that accepts
// protobuf or JSON gets JSON (custom resources); without transforms,
// only clauses that ask for no as= are taken.
func negotiateWith(r *http.Request, protobuf, transforms bool) (output, bool) {
	accept := r.Header.Get("Accept")
	pretty := r.URL.Query().Get("pretty") == "true" || r.URL.Query().Get("pretty") == "1" ||
		(accept == "" && strings.Contains(r.UserAgent(), "Mozilla"))
	if accept == "" {
		return output{mediaType: mediaJSON, pretty: pretty}, true
	}
	for _, clause := range goautoneg.ParseAccept(accept) {
		mediaType := clause.Type + "/" + clause.SubType
		switch mediaType {
		case "*/*", "application/*":
			mediaType = mediaJSON
		case mediaJSON, mediaYAML:
		case mediaProtobuf:
			if !protobuf {
				continue
			}
		default:
			continue
		}
		out := output{mediaType: mediaType, pretty: pretty && mediaType == mediaJSON}
		as, g, v := clause.Params["as"], clause.Params["g"], clause.Params["v"]
		switch {
		case as == "" && g == "" && v == "":
			return out, true
		case !transforms:
			continue
		case g == "meta.k8s.io" && (v == "v1" || v == "v1beta1") && as == "Table":
			// A Table has no protobuf form; upstream passes over such
			// a clause to the next one (406 when none is left).
			if mediaType == mediaProtobuf {
				continue
			}
			out.as, out.asVersion = as, v
			return out, true
		case g == "meta.k8s.io" && (v == "v1" || v == "v1beta1") &&
			(as == "PartialObjectMetadata" || as == "PartialObjectMetadataList"):
			out.as, out.asVersion = as, v
			return out, true
		case g == "apidiscovery.k8s.io" && v == "v2" && as == "APIGroupDiscoveryList":
			out.discovery = true
			return out, true
		}
	}
	return output{}, false
}
