package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/transport"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
)

// remoteRefresh is how often the aggregated servers' discovery is fetched
// again besides every change of the APIServices.
const remoteRefresh = 30 * time.Second

// remoteDiscovery keeps the discovery documents of the remote group
// versions, fetched from their servers, for /apis: the aggregated
// document from the server's /apis when it serves one, else its legacy
// /apis/<group>/<version>. A version whose server fails keeps what it
// last served, marked Stale, as upstream's discovery manager does.
type remoteDiscovery struct {
	a     *aggregator
	kickc chan struct{}

	mu   sync.Mutex
	docs map[schema.GroupVersion]apidiscoveryv2.APIVersionDiscovery
}

func newRemoteDiscovery(a *aggregator) *remoteDiscovery {
	return &remoteDiscovery{a: a, kickc: make(chan struct{}, 1), docs: map[schema.GroupVersion]apidiscoveryv2.APIVersionDiscovery{}}
}

// kick asks for a refresh soon (an APIService changed).
func (d *remoteDiscovery) kick() {
	select {
	case d.kickc <- struct{}{}:
	default:
	}
}

func (d *remoteDiscovery) run(ctx context.Context) {
	t := time.NewTicker(remoteRefresh)
	defer t.Stop()
	for {
		d.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.kickc:
		}
	}
}

// refresh fetches every remote group version's document once.
func (d *remoteDiscovery) refresh(ctx context.Context) {
	r := d.a.remote.Load()
	fresh := map[schema.GroupVersion]apidiscoveryv2.APIVersionDiscovery{}
	for gv, svc := range r.byGV {
		v, err := d.fetch(ctx, svc)
		if err != nil {
			d.mu.Lock()
			v = d.docs[gv]
			d.mu.Unlock()
			v.Version, v.Freshness = gv.Version, apidiscoveryv2.DiscoveryFreshnessStale
			d.a.log.Debug("aggregated discovery", "apiservice", svc.Name, "err", err)
		}
		fresh[gv] = v
	}
	d.mu.Lock()
	d.docs = fresh
	d.mu.Unlock()
}

// fetch reads one APIService's version document from its server, as the
// aggregator's identity (system:kube-aggregator in system:masters, as
// upstream).
func (d *remoteDiscovery) fetch(ctx context.Context, svc *apiregistrationv1.APIService) (apidiscoveryv2.APIVersionDiscovery, error) {
	gv := schema.GroupVersion{Group: svc.Spec.Group, Version: svc.Spec.Version}
	none := apidiscoveryv2.APIVersionDiscovery{}
	if !helper.IsAPIServiceConditionTrue(svc, apiregistrationv1.Available) {
		return none, fmt.Errorf("not available")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, ctype, err := d.get(ctx, svc, "/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
	if err != nil {
		return none, err
	}
	if isAggregatedDiscovery(ctype) {
		var list apidiscoveryv2.APIGroupDiscoveryList
		if err := json.Unmarshal(body, &list); err != nil {
			return none, fmt.Errorf("decode /apis: %w", err)
		}
		for _, g := range list.Items {
			for _, v := range g.Versions {
				if g.Name == gv.Group && v.Version == gv.Version {
					v.Freshness = apidiscoveryv2.DiscoveryFreshnessCurrent
					return v, nil
				}
			}
		}
		return apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}, nil
	}
	body, _, err = d.get(ctx, svc, "/apis/"+gv.Group+"/"+gv.Version, "application/json")
	if err != nil {
		return none, err
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(body, &list); err != nil {
		return none, fmt.Errorf("decode /apis/%s: %w", gv, err)
	}
	return versionDiscovery(gv, list.APIResources), nil
}

func (d *remoteDiscovery) get(ctx context.Context, svc *apiregistrationv1.APIService, path, accept string) ([]byte, string, error) {
	rt, err := d.a.transport(svc)
	if err != nil {
		return nil, "", err
	}
	addr, err := d.a.resolve(ctx, svc)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+path, nil)
	if err != nil {
		return nil, "", err
	}
	req.Host = rt.serverName
	req.Header.Set("Accept", accept)
	transport.SetAuthProxyHeaders(req, "system:kube-aggregator", "", []string{"system:masters"}, nil)
	resp, err := rt.transport.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

func isAggregatedDiscovery(contentType string) bool {
	_, params, err := mime.ParseMediaType(contentType)
	return err == nil && params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2"
}

// versionDiscovery turns a legacy resource list into an aggregated
// version entry: "pods/status" becomes a subresource of pods.
func versionDiscovery(gv schema.GroupVersion, list []metav1.APIResource) apidiscoveryv2.APIVersionDiscovery {
	v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
	index := map[string]int{}
	kindOf := func(r metav1.APIResource) *metav1.GroupVersionKind {
		k := &metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: r.Kind}
		if r.Group != "" || r.Version != "" {
			k.Group, k.Version = r.Group, r.Version
		}
		return k
	}
	for _, r := range list {
		if strings.Contains(r.Name, "/") {
			continue
		}
		scope := apidiscoveryv2.ScopeCluster
		if r.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		index[r.Name] = len(v.Resources)
		v.Resources = append(v.Resources, apidiscoveryv2.APIResourceDiscovery{
			Resource: r.Name, SingularResource: r.SingularName, Scope: scope, ResponseKind: kindOf(r),
			Verbs: r.Verbs, ShortNames: r.ShortNames, Categories: r.Categories,
		})
	}
	for _, r := range list {
		parent, sub, ok := strings.Cut(r.Name, "/")
		if !ok {
			continue
		}
		if i, found := index[parent]; found {
			v.Resources[i].Subresources = append(v.Resources[i].Subresources, apidiscoveryv2.APISubresourceDiscovery{
				Subresource: sub, ResponseKind: kindOf(r), Verbs: r.Verbs,
			})
		}
	}
	return v
}

// mergeAggregated adds the remote groups to the served /apis document:
// their versions by priority, each as last fetched. It returns local
// itself when there are none.
func (a *aggregator) mergeAggregated(local *apidiscoveryv2.APIGroupDiscoveryList) *apidiscoveryv2.APIGroupDiscoveryList {
	r := a.remote.Load()
	if len(r.groups) == 0 {
		return local
	}
	d := a.discovery
	d.mu.Lock()
	defer d.mu.Unlock()
	out := *local
	out.Items = append([]apidiscoveryv2.APIGroupDiscovery(nil), local.Items...)
	for _, svcs := range r.groups {
		var versions []apidiscoveryv2.APIVersionDiscovery
		for _, svc := range svcs {
			gv := schema.GroupVersion{Group: svc.Spec.Group, Version: svc.Spec.Version}
			v, ok := d.docs[gv]
			if !ok {
				// Not fetched yet: listed, with no resources, as stale.
				v = apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessStale}
			}
			versions = append(versions, v)
		}
		name := svcs[0].Spec.Group
		merged := false
		for i := range out.Items {
			if out.Items[i].Name == name {
				g := out.Items[i]
				g.Versions = append(append([]apidiscoveryv2.APIVersionDiscovery(nil), g.Versions...), versions...)
				out.Items[i] = g
				merged = true
			}
		}
		if !merged {
			out.Items = append(out.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: name}, Versions: versions})
		}
	}
	return &out
}

// legacyGroups are the remote groups for the legacy /apis list, except
// those a local group version serves too.
func (a *aggregator) legacyGroups(served map[string][]string) []metav1.APIGroup {
	var out []metav1.APIGroup
	for _, svcs := range a.remote.Load().groups {
		if _, local := served[svcs[0].Spec.Group]; local {
			continue
		}
		out = append(out, apiGroupOf(svcs))
	}
	return out
}
