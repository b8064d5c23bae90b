package openapi

import (
	"context"
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
// change; a background build, one at a time, turns the latest set into
// the documents served, and swaps them in whole. Requests never build:
// they read what was swapped in, and only wait (boundedly) while a
// build of a changed set is under way, so that a client that just saw
// its CRD established finds it.

// crdSettle is how long a build waits for more CRD changes before it
// starts, so that a burst of them (a chart installing its CRDs) costs
// one build, not one each.
const crdSettle = 150 * time.Millisecond

// crdWait bounds how long a request waits for a build under way; past
// it, the documents built before are served.
const crdWait = 5 * time.Second

// crdFeed is the CRD side of Docs.
type crdFeed struct {
	mu sync.Mutex
	// want is the latest set told, wantKey its key; building is set
	// while a build goroutine runs, and idle is closed when it ends.
	want     []*apiextensionsv1.CustomResourceDefinition
	wantKey  string
	builtKey string
	building bool
	idle     chan struct{}

	// Owned by the build goroutine (one at a time).
	parts  map[string]*crdParts // by CRD name
	gvDocs map[string]*gvDoc    // by v3 path, "apis/<group>/<version>"
	v2Key  string
	v2     *crdV2
}

// crdParts is what one CRD adds to the documents, built once per key.
type crdParts struct {
	key   string
	group string
	v2    *spec.Swagger
	v3    map[string]*spec3.OpenAPI // by served version
}

// gvDoc is the v3 document of a group version served by CRDs; key names
// the CRDs it was built from.
type gvDoc struct {
	key string
	doc *v3Doc
}

// crdV2 is /openapi/v2 with the CRDs merged in.
type crdV2 struct {
	json  *blob
	proto *blob
}

// crdDocs are the documents served while CRDs are established.
type crdDocs struct {
	v2 *crdV2
	v3 *v3Docs
}

// SetCRDs tells the documents the current CustomResourceDefinitions (all
// of them: the established ones are described). It returns at once; the
// documents follow in the background. The CRDs are read, never changed,
// and may be shared with the caller's cache.
func (d *Docs) SetCRDs(crds []*apiextensionsv1.CustomResourceDefinition) {
	est := established(crds)
	key := setKey(est)
	d.crd.mu.Lock()
	defer d.crd.mu.Unlock()
	if key == d.crd.wantKey && (d.crd.building || key == d.crd.builtKey) {
		return
	}
	d.crd.want, d.crd.wantKey = est, key
	if d.crd.building {
		return
	}
	d.crd.building = true
	d.crd.idle = make(chan struct{})
	go d.buildCRDs()
}

// waitCRDs waits, at most crdWait or until ctx ends, for a build of
// changed CRDs under way.
func (d *Docs) waitCRDs(ctx context.Context) {
	d.crd.mu.Lock()
	building, idle := d.crd.building, d.crd.idle
	d.crd.mu.Unlock()
	if !building {
		return
	}
	t := time.NewTimer(crdWait)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
	}
}

// buildCRDs builds documents until they describe the latest set told.
func (d *Docs) buildCRDs() {
	for {
		time.Sleep(crdSettle)
		d.crd.mu.Lock()
		crds, key := d.crd.want, d.crd.wantKey
		d.crd.mu.Unlock()

		docs, err := d.buildCRDDocs(crds)
		if err != nil {
			d.logger().Error("openapi: describing custom resources failed", "component", "apiserver", "err", err)
		} else {
			d.crdDocs.Store(docs)
		}

		d.crd.mu.Lock()
		d.crd.builtKey = key
		if d.crd.wantKey == key {
			d.crd.building = false
			close(d.crd.idle)
			d.crd.mu.Unlock()
			return
		}
		d.crd.mu.Unlock()
	}
}

// buildCRDDocs builds the documents with crds (established) merged in;
// nil when there are none.
func (d *Docs) buildCRDDocs(crds []*apiextensionsv1.CustomResourceDefinition) (*crdDocs, error) {
	d.refreshParts(crds)
	if len(d.crd.parts) == 0 {
		d.crd.gvDocs, d.crd.v2Key, d.crd.v2 = nil, "", nil
		return nil, nil
	}
	names := make([]string, 0, len(d.crd.parts))
	for name := range d.crd.parts {
		names = append(names, name)
	}
	sort.Strings(names)
	v3, err := d.crdV3(names)
	if err != nil {
		return nil, err
	}
	v2, err := d.crdV2(names)
	if err != nil {
		return nil, err
	}
	return &crdDocs{v2: v2, v3: v3}, nil
}

// refreshParts builds the parts of the CRDs that are new or changed and
// forgets those of CRDs gone. A CRD whose documents do not build is left
// out, and logged.
func (d *Docs) refreshParts(crds []*apiextensionsv1.CustomResourceDefinition) {
	parts := make(map[string]*crdParts, len(crds))
	for _, crd := range crds {
		key := crdKey(crd)
		if p := d.crd.parts[crd.Name]; p != nil && p.key == key {
			parts[crd.Name] = p
			continue
		}
		p, err := newCRDParts(crd, key)
		if err != nil {
			d.logger().Warn("openapi: custom resource not described", "component", "apiserver", "crd", crd.Name, "err", err)
			continue
		}
		parts[crd.Name] = p
	}
	d.crd.parts = parts
}

func newCRDParts(crd *apiextensionsv1.CustomResourceDefinition, key string) (*crdParts, error) {
	v2, err := crdschema.OpenAPIV2(crd)
	if err != nil {
		return nil, err
	}
	p := &crdParts{key: key, group: crd.Spec.Group, v2: v2, v3: map[string]*spec3.OpenAPI{}}
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		doc, err := crdschema.OpenAPIV3(crd, v.Name)
		if err != nil {
			return nil, err
		}
		p.v3[v.Name] = doc
	}
	return p, nil
}

// crdV3 returns the v3 documents: the built-in ones and one per group
// version the CRDs serve (a built-in group version's document stays the
// built-in one). Documents of group versions whose CRDs did not change
// are kept, with their hashes.
func (d *Docs) crdV3(names []string) (*v3Docs, error) {
	static, err := d.v3()
	if err != nil {
		return nil, err
	}
	type member struct {
		key string
		doc *spec3.OpenAPI
	}
	byGV := map[string][]member{}
	for _, name := range names {
		p := d.crd.parts[name]
		for version, doc := range p.v3 {
			path := "apis/" + p.group + "/" + version
			if _, builtin := static.docs[path]; builtin {
				continue
			}
			byGV[path] = append(byGV[path], member{key: name + "=" + p.key, doc: doc})
		}
	}
	out := &v3Docs{docs: make(map[string]*v3Doc, len(static.docs)+len(byGV))}
	for path, doc := range static.docs {
		out.docs[path] = doc
	}
	gvDocs := make(map[string]*gvDoc, len(byGV))
	now := time.Now()
	for path, members := range byGV {
		keys := make([]string, len(members))
		for i, m := range members {
			keys[i] = m.key
		}
		sort.Strings(keys)
		key := strings.Join(keys, ",")
		if old := d.crd.gvDocs[path]; old != nil && old.key == key {
			gvDocs[path] = old
			out.docs[path] = old.doc
			continue
		}
		// Names are sorted, so the merge order is stable.
		sort.Slice(members, func(i, j int) bool { return members[i].key < members[j].key })
		docs := make([]*spec3.OpenAPI, len(members))
		for i, m := range members {
			docs[i] = m.doc
		}
		merged, err := crdschema.MergeV3(docs...)
		if err != nil {
			d.logger().Warn("openapi: group version not described", "component", "apiserver", "path", path, "err", err)
			continue
		}
		b, err := merged.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("openapi v3 %s: %w", path, err)
		}
		doc := d.newV3Doc(newBlob(b, etagOf(b), now))
		gvDocs[path] = &gvDoc{key: key, doc: doc}
		out.docs[path] = doc
	}
	d.crd.gvDocs = gvDocs
	if out.discovery, err = discoveryOf(out.docs, now); err != nil {
		return nil, err
	}
	return out, nil
}

// crdV2 returns /openapi/v2 with the CRDs merged in, as upstream merges
// them (builder.MergeSpecs: the built-in paths and definitions win, a
// clashing CRD definition is renamed). It rebuilds only when the CRDs
// changed since the last time.
func (d *Docs) crdV2(names []string) (*crdV2, error) {
	keys := make([]string, len(names))
	crds := make([]*spec.Swagger, len(names))
	for i, name := range names {
		keys[i] = name + "=" + d.crd.parts[name].key
		crds[i] = d.crd.parts[name].v2
	}
	key := strings.Join(keys, ",")
	if d.crd.v2 != nil && d.crd.v2Key == key {
		return d.crd.v2, nil
	}
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
	merged, err := crdschema.MergeV2(sw, crds...)
	if err != nil {
		return nil, fmt.Errorf("openapi v2: merge custom resources: %w", err)
	}
	b, err := merged.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	j := newBlob(b, etagOf(b), time.Now())
	p, err := protoBlob(j, v2Proto)
	if err != nil {
		return nil, err
	}
	d.crd.v2Key, d.crd.v2 = key, &crdV2{json: j, proto: p}
	return d.crd.v2, nil
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
