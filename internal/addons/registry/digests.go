package registry

import (
	"net/http"
	"strings"
)

// The digest algorithms the registry takes: the two the OCI image spec
// registers. go-digest also parses sha384, which distribution would then
// half accept (an upload session for it, a 404 for content named by it):
// a request naming any other algorithm is answered 400 DIGEST_INVALID,
// as the distribution spec answers an unsupported digest.
var digestAlgorithms = map[string]bool{"sha256": true, "sha512": true}

// unsupportedDigest is the algorithm of a digest of another kind named
// in req: in its path (…/blobs/<digest>, …/manifests/<digest>) or its
// digest or mount query; ok false when there is none.
func unsupportedDigest(req *http.Request) (string, bool) {
	var named []string
	if rest, found := strings.CutPrefix(req.URL.Path, "/v2/"); found {
		for _, kind := range []string{"/blobs/", "/manifests/"} {
			if i := strings.LastIndex(rest, kind); i >= 0 {
				named = append(named, rest[i+len(kind):])
			}
		}
	}
	q := req.URL.Query()
	named = append(named, q.Get("digest"), q.Get("mount"))
	for _, d := range named {
		// A tag has no colon, an upload's path ("uploads/<id>") neither;
		// "/blobs/" inside a repository's name leaves a "/" after it.
		if algo, _, found := strings.Cut(d, ":"); found && !strings.Contains(algo, "/") && !digestAlgorithms[algo] {
			return algo, true
		}
	}
	return "", false
}
