package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/kemudi/kemudi/internal/registry/apiextensions/customresource"
	"github.com/kemudi/kemudi/internal/registry/apiextensions/customresourcedefinition"
	"github.com/kemudi/kemudi/internal/storage"
	"github.com/kemudi/kemudi/internal/webhookclient"
)

// apiSnapshot is the set of served resources at one moment: the built-in
// ones and those of the established CustomResourceDefinitions. Requests
// read it without locking (Server.api); a change of the CRDs builds a new
// one and swaps it in.
type apiSnapshot struct {
	endpoints map[string]*endpoint
	discovery *discovery
	// views are the endpoints of the resources served in more than one
	// version, by priority (admissionVersions reads them).
	views map[schema.GroupResource][]*endpoint
}

func newSnapshot(eps map[string]*endpoint, d *discovery) *apiSnapshot {
	return &apiSnapshot{endpoints: eps, discovery: d, views: multiVersion(eps)}
}

// customEndpoint marks an endpoint that serves a CRD's version.
type customEndpoint struct {
	crd string
	// terminating is set once the CRD is being deleted: its objects may
	// still be read and deleted, not created.
	terminating bool
	// unknown finds unknown fields for field validation.
	unknown *unknownFields
	// storage is the kind objects are stored as (the storage version's);
	// empty when that version is not served.
	storage schema.GroupVersionKind
	// webhook is set when a webhook converts between the CRD's versions.
	webhook bool
}

// customResources follows the CRDs in the server's own storage, as
// upstream's apiextensions server does with an informer, and rebuilds the
// snapshot when they change.
type customResources struct {
	started sync.Once
	// synced marks the health check crd-informer-synced done: the CRDs
	// in the store were listed and their endpoints built.
	synced func()
	// mu serializes rebuilds; fingerprint names the CRD versions the
	// current snapshot was built from.
	mu          sync.Mutex
	fingerprint string
	// built are the endpoints of the current snapshot by buildKey: a CRD
	// whose serving did not change (a status condition did) keeps its
	// compiled schema.
	built map[string]*endpoint
	// webhooks calls conversion webhooks, reaching services at their
	// ready endpoints in the store; made on first build.
	webhooks *customresource.Webhooks
	// settled and settleTimer: see noteChange.
	settled     func()
	settleTimer *time.Timer
}

// buildKey names what an endpoint of a CRD version is built from.
func buildKey(crd *apiextensionsv1.CustomResourceDefinition, version string, terminating bool) string {
	return fmt.Sprintf("%s/%d/%s/%t/%v", crd.UID, crd.Generation, version, terminating, crd.Status.AcceptedNames)
}

var crdPrefix = storage.Prefix + customresourcedefinition.StoragePrefix + "/"

// endpointFor returns the endpoint serving group/version/resource now.
func (s *Server) endpointFor(group, version, resource string) (*endpoint, bool) {
	ep, ok := s.api.Load().endpoints[endpointKey(group, version, resource)]
	return ep, ok
}

// publishBuiltins makes the built-in resources the first snapshot.
func (s *Server) publishBuiltins() {
	eps := make(map[string]*endpoint, len(s.endpoints))
	for k, ep := range s.endpoints {
		eps[k] = ep
	}
	s.api.Store(newSnapshot(eps, s.discovery))
}

// startCustomResources loads the CRDs and serves their resources before
// it returns, then follows their changes until ctx ends.
func (s *Server) startCustomResources(ctx context.Context) {
	s.crs.started.Do(func() {
		rev, err := s.syncCRDs(ctx, "0")
		if err != nil {
			s.log.Error("load custom resource definitions", "err", err)
		} else {
			s.crs.synced()
		}
		go s.followCRDs(ctx, rev)
	})
}

// followCRDs rebuilds the snapshot after every burst of CRD changes.
func (s *Server) followCRDs(ctx context.Context, rev int64) {
	for ctx.Err() == nil {
		w, err := s.store.Watch(ctx, crdPrefix, storage.WatchOptions{ResourceVersion: fmt.Sprint(rev)})
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("watch custom resource definitions", "err", err)
			}
		} else {
			err = s.drainCRDEvents(ctx, w)
			w.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		// Relist after a watch that failed or expired.
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		if rev, err = s.syncCRDs(ctx, "0"); err != nil {
			s.log.Warn("relist custom resource definitions", "err", err)
		} else {
			s.crs.synced()
		}
	}
}

func (s *Server) drainCRDEvents(ctx context.Context, w *storage.Watch) error {
	for {
		if _, err := w.Next(ctx); err != nil {
			return err
		}
		for w.Pending() {
			if _, err := w.Next(ctx); err != nil {
				return err
			}
		}
		if _, err := s.syncCRDs(ctx, "0"); err != nil {
			s.log.Warn("rebuild custom resources", "err", err)
		}
	}
}

// syncCRDs lists the CRDs (resourceVersion "0": from the watch cache; "":
// consistent with etcd) and swaps in a snapshot that serves them, unless
// the one served already does. It returns the list's revision.
func (s *Server) syncCRDs(ctx context.Context, resourceVersion string) (int64, error) {
	res, err := s.store.List(ctx, crdPrefix, storage.ListOptions{ResourceVersion: resourceVersion})
	if err != nil {
		return 0, err
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(res.Items))
	var fp strings.Builder
	for _, obj := range res.Items {
		crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
		if !ok {
			continue
		}
		crds = append(crds, crd)
		fp.WriteString(crd.Name + "@" + crd.ResourceVersion + ",")
	}
	s.crs.mu.Lock()
	defer s.crs.mu.Unlock()
	if fp.String() == s.crs.fingerprint {
		return res.Rev, nil
	}
	s.api.Store(s.buildSnapshot(crds))
	s.crs.fingerprint = fp.String()
	s.publishOpenAPI(crds)
	s.crs.noteChange()
	return res.Rev, nil
}

// buildSnapshot (called with s.crs.mu held) serves the built-in resources and every served version of
// the established CRDs. A built-in resource wins over a CRD of the same
// group, version and resource.
func (s *Server) buildSnapshot(crds []*apiextensionsv1.CustomResourceDefinition) *apiSnapshot {
	eps := make(map[string]*endpoint, len(s.endpoints)+len(crds))
	for k, ep := range s.endpoints {
		eps[k] = ep
	}
	var custom []*endpoint
	built := map[string]*endpoint{}
	defer func() { s.crs.built = built }()
	for _, crd := range crds {
		if !customresourcedefinition.IsTrue(crd, apiextensionsv1.Established) {
			continue
		}
		terminating := customresourcedefinition.IsTrue(crd, apiextensionsv1.Terminating)
		for _, v := range customresource.ServedVersions(crd) {
			bk := buildKey(crd, v, terminating)
			ep, ok := s.crs.built[bk]
			if !ok {
				if s.crs.webhooks == nil {
					s.crs.webhooks = customresource.NewWebhooks(webhookclient.StoreResolver{Store: s.store})
				}
				r, err := customresource.ResourceWith(crd, v, s.crs.webhooks)
				if err != nil {
					s.log.Warn("custom resource not served", "crd", crd.Name, "version", v, "err", err)
					continue
				}
				ep = newEndpoint(r)
				ep.custom = &customEndpoint{crd: crd.Name, terminating: terminating, unknown: newUnknownFields(crd, v),
					storage: customresource.StorageKind(crd), webhook: crd.Spec.Conversion != nil && crd.Spec.Conversion.Strategy == apiextensionsv1.WebhookConverter}
			}
			k := endpointKey(ep.GroupVersion.Group, ep.GroupVersion.Version, ep.Resource.Resource)
			if _, taken := eps[k]; taken {
				s.log.Warn("custom resource not served: its group, version and resource are served already", "crd", crd.Name, "resource", k)
				continue
			}
			eps[k] = ep
			built[bk] = ep
			custom = append(custom, ep)
		}
	}
	// Discovery lists a group's versions by upstream's priority (v2,
	// v1, v1beta1, ...), the resources of a version by name.
	sort.SliceStable(custom, func(i, j int) bool {
		a, b := custom[i].GroupVersion, custom[j].GroupVersion
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Version != b.Version {
			return version.CompareKubeAwareVersionStrings(a.Version, b.Version) > 0
		}
		return custom[i].Resource.Resource < custom[j].Resource.Resource
	})
	if s.crs.webhooks != nil {
		s.crs.webhooks.Keep(crds)
	}
	all := make([]*endpoint, 0, len(s.ordered)+len(custom))
	all = append(append(all, s.ordered...), custom...)
	return newSnapshot(eps, newDiscovery(all, s.scheme))
}

// lookupEndpoint finds the endpoint of a resource request. A miss outside
// the built-in resources looks at the stored CRDs first, so that a client
// that saw its CRD established is served even before the server's own
// follower caught up.
func (s *Server) lookupEndpoint(ctx context.Context, info *requestInfo) (*endpoint, bool) {
	if ep, ok := s.endpointFor(info.Group, info.Version, info.Resource); ok {
		return ep, true
	}
	if _, builtin := s.endpoints[endpointKey(info.Group, info.Version, info.Resource)]; builtin || info.Group == "" {
		return nil, false
	}
	if _, err := s.syncCRDs(ctx, "0"); err != nil {
		return nil, false
	}
	return s.endpointFor(info.Group, info.Version, info.Resource)
}

// customOutput checks what a request to a custom resource may get: JSON
// and YAML (protobuf only for PartialObjectMetadata), and no
// creates while its CRD is being deleted.
func (s *Server) customOutput(r *http.Request, info *requestInfo, ep *endpoint, out output) (output, error) {
	if ep.custom.terminating && info.Verb == "create" {
		err := apierrors.NewMethodNotSupported(schema.GroupResource{Group: info.Group, Resource: info.Resource}, info.Verb)
		err.ErrStatus.Message = fmt.Sprintf("%v not allowed while custom resource definition is terminating", info.Verb)
		return out, err
	}
	if out.mediaType != mediaProtobuf || out.as == "PartialObjectMetadata" || out.as == "PartialObjectMetadataList" {
		return out, nil
	}
	o, ok := negotiateWith(r, false, true)
	if !ok {
		return out, notAcceptable()
	}
	return o, nil
}

// serveDiscovery answers discovery paths from the current snapshot, after
// catching up with the CRDs in the watch cache (a client that saw its CRD
// established finds its group).
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request, out output) bool {
	if parts := splitPath(r.URL.Path); (len(parts) >= 1 && len(parts) <= 3 && parts[0] == "apis") || (len(parts) == 1 && parts[0] == "api") {
		if _, err := s.syncCRDs(r.Context(), "0"); err != nil {
			s.log.Warn("sync custom resource definitions", "err", err)
		}
	}
	return s.api.Load().discovery.serve(s, w, r, out)
}
