package openapi

import (
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	crdschema "github.com/kemudi/kemudi/internal/registry/apiextensions/schema"
)

// The documents describe the established CustomResourceDefinitions too,
// as upstream's apiextensions OpenAPI controllers publish them: every
// served version's paths and definitions merged into /openapi/v2 (the
// built-in ones win a conflict), and one /openapi/v3/apis/<group>/<version>
// document per group version the CRDs serve, listed in /openapi/v3 with
// its hash.
//
// The server tells the documents of the CRDs (SetCRDs) whenever they
// change; that only records them. A document is built by the first
// request that needs it after a change, so a burst of changes (a chart
// installing 100 CRDs) costs nothing until a client reads, and then one
// build; a request that comes while a build is under way waits for it,
// so that a client that just saw its CRD established finds it. The
// parts a CRD adds (its v2 paths and definitions, its v3 document of
// each served version) are built once per CRD key (uid, generation,
// accepted names) and kept; /openapi/v2 is merged again only when the
// set changed since it was last merged, and a group version's v3
// document only when one of its CRDs did.

// crdFeed is the CRD side of Docs.
type crdFeed struct {
	// mu guards the set told; SetCRDs takes only it, so that the server
	// is never held up by a build.
	mu   sync.Mutex
	told []*apiextensionsv1.CustomResourceDefinition

	// build is held while building and guards the fields below.
	build sync.Mutex
	// crds are the established CRDs of told, by name, and key names
	// them; both as of the last sync.
	crds    []*apiextensionsv1.CustomResourceDefinition
	key     string
	synced  bool
	parts   map[string]*crdParts // by CRD name
	gvDocs  map[string]*gvDoc    // by v3 path, "apis/<group>/<version>"
	v2Key   string
	v2      *crdV2
	discKey string
	disc    *blob
	stats   crdBuildStats
}

// crdBuildStats counts what was built, for tests of what is not.
type crdBuildStats struct {
	// v2Parts and v3Parts count the CRD parts built (v3: per version);
	// v2Docs and v3Docs the merged documents.
	v2Parts, v3Parts, v2Docs, v3Docs int
}

// crdParts is what one CRD adds to the documents, each part built on
// first need and kept while the CRD's key stays the same.
type crdParts struct {
	crd   *apiextensionsv1.CustomResourceDefinition
	key   string
	v2    *spec.Swagger // nil until built, or when it failed
	v2Err error
	v3    map[string]*spec3.OpenAPI // by served version
	v3Err map[string]error
}

// gvDoc is the v3 document of a group version served by CRDs; key names
// the CRDs it was built from.
type gvDoc struct {
	key string
	doc *v3Doc
}

// crdV2 is /openapi/v2 with the CRDs merged in; its protobuf form is
// made on first request.
type crdV2 struct {
	json  *blob
	proto func() (*blob, error)
}

// SetCRDs tells the documents the current CustomResourceDefinitions (all
// of them: the established ones are described). It returns at once; the
// documents follow on the next request. The CRDs are read, never
// changed, and may be shared with the caller's cache.
func (d *Docs) SetCRDs(crds []*apiextensionsv1.CustomResourceDefinition) {
	d.crd.mu.Lock()
	d.crd.told = crds
	d.crd.mu.Unlock()
}

// syncCRDs (with build held) takes the latest set told: it forgets the
// parts of CRDs gone or changed and the v3 documents of group versions
// no longer served. It builds nothing.
func (d *Docs) syncCRDs() {
	d.crd.mu.Lock()
	told := d.crd.told
	d.crd.mu.Unlock()
	crds := established(told)
	key := setKey(crds)
	if d.crd.synced && key == d.crd.key {
		return
	}
	d.crd.synced, d.crd.crds, d.crd.key = true, crds, key
	parts := make(map[string]*crdParts, len(crds))
	paths := map[string]bool{}
	for _, crd := range crds {
		k := crdKey(crd)
		if p := d.crd.parts[crd.Name]; p != nil && p.key == k {
			p.crd = crd
			parts[crd.Name] = p
		} else {
			parts[crd.Name] = &crdParts{crd: crd, key: k, v3: map[string]*spec3.OpenAPI{}, v3Err: map[string]error{}}
		}
		for _, v := range servedVersions(crd) {
			paths[gvPath(crd.Spec.Group, v)] = true
		}
	}
	d.crd.parts = parts
	for path := range d.crd.gvDocs {
		if !paths[path] {
			delete(d.crd.gvDocs, path)
		}
	}
}

// partV2 returns the CRD's v2 part, building it on first need; nil when
// it does not build (logged once).
func (d *Docs) partV2(p *crdParts) *spec.Swagger {
	if p.v2 == nil && p.v2Err == nil {
		d.crd.stats.v2Parts++
		p.v2, p.v2Err = crdschema.OpenAPIV2(p.crd)
		if p.v2Err != nil {
			d.logger().Warn("openapi: custom resource not described", "component", "apiserver", "crd", p.crd.Name, "err", p.v2Err)
		}
	}
	return p.v2
}

// partV3 returns the CRD's v3 document of a served version, building it
// on first need; nil when it does not build (logged once).
func (d *Docs) partV3(p *crdParts, version string) *spec3.OpenAPI {
	doc, ok := p.v3[version]
	if _, failed := p.v3Err[version]; !ok && !failed {
		d.crd.stats.v3Parts++
		var err error
		if doc, err = crdschema.OpenAPIV3(p.crd, version); err != nil {
			p.v3Err[version] = err
			d.logger().Warn("openapi: custom resource not described", "component", "apiserver", "crd", p.crd.Name, "version", version, "err", err)
			return nil
		}
		p.v3[version] = doc
	}
	return doc
}

// crdV2Doc returns /openapi/v2 with the established CRDs merged in,
// merging them again if the set changed since the last time; nil when
// none is established (or none builds).
func (d *Docs) crdV2Doc() (*crdV2, error) {
	d.crd.build.Lock()
	defer d.crd.build.Unlock()
	d.syncCRDs()
	if d.crd.v2 != nil && d.crd.v2Key == d.crd.key {
		return d.crd.v2, nil
	}
	var parts []*spec.Swagger
	for _, crd := range d.crd.crds {
		if sw := d.partV2(d.crd.parts[crd.Name]); sw != nil {
			parts = append(parts, sw)
		}
	}
	var v2 *crdV2
	if len(parts) > 0 {
		var err error
		if v2, err = d.mergeV2(parts); err != nil {
			return nil, err
		}
	}
	d.crd.v2Key, d.crd.v2 = d.crd.key, v2
	return v2, nil
}

// mergeV2 merges the CRDs' parts into the built-in document, as upstream
// merges them (builder.MergeSpecs: the built-in paths and definitions
// win, a clashing CRD definition is renamed).
func (d *Docs) mergeV2(parts []*spec.Swagger) (*crdV2, error) {
	d.crd.stats.v2Docs++
	defer debug.FreeOSMemory()
	static, err := d.v2JSON()
	if err != nil {
		return nil, err
	}
	raw, err := static.bytes()
	if err != nil {
		return nil, err
	}
	// The built-in document is kept as bytes only (see Docs): parsing it
	// again costs less than keeping its tree.
	sw := &spec.Swagger{}
	if err := sw.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("openapi v2: parse the built-in document: %w", err)
	}
	merged, err := crdschema.MergeV2(sw, parts...)
	if err != nil {
		return nil, fmt.Errorf("openapi v2: merge custom resources: %w", err)
	}
	b, err := merged.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	j := newBlob(b, etagOf(b), time.Now())
	return &crdV2{json: j, proto: sync.OnceValues(logged(d, func() (*blob, error) {
		return protoBlob(j, v2Proto)
	}))}, nil
}

// crdV3Doc returns the v3 document of a group version the CRDs serve
// (path "apis/<group>/<version>", not a built-in one), building it if
// one of its CRDs changed; nil when no established CRD serves it.
func (d *Docs) crdV3Doc(static *v3Docs, path string) (*v3Doc, error) {
	d.crd.build.Lock()
	defer d.crd.build.Unlock()
	d.syncCRDs()
	return d.gvDocOf(static, path)
}

// crdV3Discovery returns the /openapi/v3 document listing the built-in
// documents and those of the CRDs' group versions, with their hashes; it
// builds the group versions' documents that changed.
func (d *Docs) crdV3Discovery(static *v3Docs) (*blob, error) {
	d.crd.build.Lock()
	defer d.crd.build.Unlock()
	d.syncCRDs()
	if len(d.crd.crds) == 0 {
		return static.discovery, nil
	}
	if d.crd.disc != nil && d.crd.discKey == d.crd.key {
		return d.crd.disc, nil
	}
	docs := make(map[string]*v3Doc, len(static.docs)+len(d.crd.gvDocs))
	for path, doc := range static.docs {
		docs[path] = doc
	}
	for _, path := range d.crdPaths(static) {
		doc, err := d.gvDocOf(static, path)
		if err != nil {
			return nil, err
		}
		if doc != nil {
			docs[path] = doc
		}
	}
	disc, err := discoveryOf(docs, time.Now())
	if err != nil {
		return nil, err
	}
	d.crd.discKey, d.crd.disc = d.crd.key, disc
	return disc, nil
}

// crdPaths returns the v3 paths of the group versions the established
// CRDs serve, but for built-in ones, sorted.
func (d *Docs) crdPaths(static *v3Docs) []string {
	seen := map[string]bool{}
	var out []string
	for _, crd := range d.crd.crds {
		for _, v := range servedVersions(crd) {
			path := gvPath(crd.Spec.Group, v)
			if _, builtin := static.docs[path]; !builtin && !seen[path] {
				seen[path] = true
				out = append(out, path)
			}
		}
	}
	sort.Strings(out)
	return out
}

// gvDocOf (with build held, after syncCRDs) returns the document of a
// CRD group version, merging its CRDs' parts again if its members
// changed since it was last built.
func (d *Docs) gvDocOf(static *v3Docs, path string) (*v3Doc, error) {
	if _, builtin := static.docs[path]; builtin {
		return nil, nil
	}
	type member struct {
		key     string
		p       *crdParts
		version string
	}
	var members []member // by name: crds are sorted
	for _, crd := range d.crd.crds {
		for _, v := range servedVersions(crd) {
			if gvPath(crd.Spec.Group, v) == path {
				p := d.crd.parts[crd.Name]
				members = append(members, member{key: crd.Name + "=" + p.key, p: p, version: v})
			}
		}
	}
	if len(members) == 0 {
		return nil, nil
	}
	keys := make([]string, len(members))
	for i, m := range members {
		keys[i] = m.key
	}
	key := strings.Join(keys, ",")
	if old := d.crd.gvDocs[path]; old != nil && old.key == key {
		return old.doc, nil
	}
	var docs []*spec3.OpenAPI
	for _, m := range members {
		if doc := d.partV3(m.p, m.version); doc != nil {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		return nil, nil
	}
	d.crd.stats.v3Docs++
	merged, err := crdschema.MergeV3(docs...)
	if err != nil {
		d.logger().Warn("openapi: group version not described", "component", "apiserver", "path", path, "err", err)
		return nil, nil
	}
	b, err := merged.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("openapi v3 %s: %w", path, err)
	}
	doc := d.newV3Doc(newBlob(b, etagOf(b), time.Now()))
	if d.crd.gvDocs == nil {
		d.crd.gvDocs = map[string]*gvDoc{}
	}
	d.crd.gvDocs[path] = &gvDoc{key: key, doc: doc}
	return doc, nil
}

// crdBuilds returns what was built so far.
func (d *Docs) crdBuilds() crdBuildStats {
	d.crd.build.Lock()
	defer d.crd.build.Unlock()
	return d.crd.stats
}

func gvPath(group, version string) string { return "apis/" + group + "/" + version }

func servedVersions(crd *apiextensionsv1.CustomResourceDefinition) []string {
	var out []string
	for _, v := range crd.Spec.Versions {
		if v.Served {
			out = append(out, v.Name)
		}
	}
	return out
}

// established returns the CRDs upstream publishes: the established ones,
// by name.
func established(crds []*apiextensionsv1.CustomResourceDefinition) []*apiextensionsv1.CustomResourceDefinition {
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, crd := range crds {
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				out = append(out, crd)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// crdKey names what a CRD's documents are built from: its spec (by
// generation) and the names its status accepted.
func crdKey(crd *apiextensionsv1.CustomResourceDefinition) string {
	n := crd.Status.AcceptedNames
	return fmt.Sprintf("%s/%d/%s/%s/%s/%s/%v/%v", crd.UID, crd.Generation, n.Plural, n.Singular, n.Kind, n.ListKind, n.ShortNames, n.Categories)
}

func setKey(crds []*apiextensionsv1.CustomResourceDefinition) string {
	var b strings.Builder
	for _, crd := range crds {
		b.WriteString(crd.Name + "=" + crdKey(crd) + ",")
	}
	return b.String()
}
