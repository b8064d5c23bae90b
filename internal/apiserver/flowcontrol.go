package apiserver

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/apiserver/apf"
	"github.com/kemudi/kemudi/internal/registry/flowcontrol"
	"github.com/kemudi/kemudi/internal/storage"
)

// The response headers naming the matched schema and level, in Go's
// canonical form for HTTP/1, so that they are set without canonicalizing
// each time, and in lower case for HTTP/2, which sends names in lower
// case and would otherwise lower them (an allocation) on every response.
var (
	flowSchemaHeader      = http.CanonicalHeaderKey(flowcontrolv1.ResponseHeaderMatchedFlowSchemaUID)
	priorityLevelHeader   = http.CanonicalHeaderKey(flowcontrolv1.ResponseHeaderMatchedPriorityLevelConfigurationUID)
	flowSchemaHeaderH2    = strings.ToLower(flowcontrolv1.ResponseHeaderMatchedFlowSchemaUID)
	priorityLevelHeaderH2 = strings.ToLower(flowcontrolv1.ResponseHeaderMatchedPriorityLevelConfigurationUID)
)

// apfStatusManager is the field manager of the Dangling condition, as
// upstream's.
const apfStatusManager = "api-priority-and-fairness-config-consumer-v1"

// flowControl classifies requests by the FlowSchemas in the store, as
// API Priority and Fairness does, and names the match in the response
// headers; it keeps the schemas' Dangling condition and the levels'
// nominal limit metric. Requests are not queued or limited.
type flowControl struct {
	server     *Server
	schemas    *endpoint
	levels     *endpoint
	classifier atomic.Pointer[apf.Classifier]
	nominal    *prometheus.GaugeVec

	mu sync.Mutex
	// fs and pl are the stored objects by name (the watch cache's: never
	// changed here).
	fs map[string]*flowcontrolv1.FlowSchema
	pl map[string]*flowcontrolv1.PriorityLevelConfiguration
	// changed is signalled when either map changed.
	changed chan struct{}
	log     *slog.Logger
}

// newFlowControl returns nil when the server does not serve the kinds.
func newFlowControl(s *Server) *flowControl {
	g, v := flowcontrolv1.SchemeGroupVersion.Group, flowcontrolv1.SchemeGroupVersion.Version
	schemas, levels := s.endpoints[endpointKey(g, v, "flowschemas")], s.endpoints[endpointKey(g, v, "prioritylevelconfigurations")]
	if schemas == nil || levels == nil {
		return nil
	}
	f := &flowControl{
		server: s, schemas: schemas, levels: levels,
		nominal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_flowcontrol_nominal_limit_seats",
			Help: "Nominal number of execution seats configured for each priority level",
		}, []string{"priority_level"}),
		fs:      map[string]*flowcontrolv1.FlowSchema{},
		pl:      map[string]*flowcontrolv1.PriorityLevelConfiguration{},
		changed: make(chan struct{}, 1),
		log:     s.log,
	}
	// Until the store is read: the mandatory configuration.
	f.classifier.Store(apf.New(nil, nil))
	s.metrics.registry.MustRegister(f.nominal)
	return f
}

// start follows the store until ctx ends.
func (f *flowControl) start(ctx context.Context) {
	synced := storage.AllSynced(
		f.server.store.Follow(ctx, f.schemas.prefix, namedSink(&f.mu, f.fs, f.kick), f.log),
		f.server.store.Follow(ctx, f.levels.prefix, namedSink(&f.mu, f.pl, f.kick), f.log),
	)
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-synced:
		}
		for {
			f.sync(ctx)
			select {
			case <-ctx.Done():
				return
			case <-f.changed:
			}
		}
	}()
}

func (f *flowControl) kick() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// namedSink keeps m, guarded by mu, equal to the objects under a prefix
// and calls changed after every change.
func namedSink[T interface {
	runtime.Object
	GetName() string
}](mu *sync.Mutex, m map[string]T, changed func()) storage.Sink {
	return storage.TypedSink(func(o T) {
		mu.Lock()
		m[o.GetName()] = o
		mu.Unlock()
		changed()
	}, func(o T) {
		mu.Lock()
		delete(m, o.GetName())
		mu.Unlock()
		changed()
	}, func(os []T) {
		mu.Lock()
		clear(m)
		for _, o := range os {
			m[o.GetName()] = o
		}
		mu.Unlock()
		changed()
	})
}

// sync rebuilds the classifier and the metric from the stored objects,
// brings the schemas' Dangling conditions up to date and recreates a
// mandatory object that was deleted.
func (f *flowControl) sync(ctx context.Context) {
	f.mu.Lock()
	schemas := make([]*flowcontrolv1.FlowSchema, 0, len(f.fs))
	for _, fs := range f.fs {
		schemas = append(schemas, fs)
	}
	levels := make([]*flowcontrolv1.PriorityLevelConfiguration, 0, len(f.pl))
	for _, pl := range f.pl {
		levels = append(levels, pl)
	}
	f.mu.Unlock()

	f.classifier.Store(apf.New(schemas, levels))
	f.nominal.Reset()
	for name, seats := range apf.NominalLimits(levels, apf.ServerConcurrencyLimit) {
		f.nominal.WithLabelValues(name).Set(float64(seats))
	}
	exists := make(map[string]bool, len(levels))
	for _, pl := range levels {
		exists[pl.Name] = true
	}
	now := metav1.Now()
	for _, fs := range schemas {
		if want, changed := apf.Dangling(fs, exists[fs.Spec.PriorityLevelConfiguration.Name], now); changed {
			f.setDangling(ctx, fs.Name, want)
		}
	}
	f.ensureMandatory(ctx, schemas, levels)
}

func (f *flowControl) setDangling(ctx context.Context, name string, want flowcontrolv1.FlowSchemaCondition) {
	_, _, err := f.server.updateObject(ctx, f.schemas, "", name, updateSpec{
		status: true, subresource: "status", manager: apfStatusManager,
		compute: func(current runtime.Object) (runtime.Object, error) {
			fs := current.(*flowcontrolv1.FlowSchema)
			apf.SetCondition(fs, want)
			return fs, nil
		},
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		f.log.Warn("set the Dangling condition of a flow schema", "name", name, "err", err)
	}
}

// ensureMandatory recreates the mandatory schemas and levels, which
// upstream keeps in existence.
func (f *flowControl) ensureMandatory(ctx context.Context, schemas []*flowcontrolv1.FlowSchema, levels []*flowcontrolv1.PriorityLevelConfiguration) {
	have := make(map[string]bool, 4)
	for _, fs := range schemas {
		have["fs/"+fs.Name] = true
	}
	for _, pl := range levels {
		have["pl/"+pl.Name] = true
	}
	var missing []runtime.Object
	for _, name := range []string{flowcontrolv1.FlowSchemaNameExempt, flowcontrolv1.FlowSchemaNameCatchAll} {
		if !have["fs/"+name] {
			missing = append(missing, flowcontrol.MandatoryFlowSchema(name))
		}
		if !have["pl/"+name] {
			missing = append(missing, flowcontrol.MandatoryPriorityLevel(name))
		}
	}
	if len(missing) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := f.server.EnsureObjects(cctx, missing...); err != nil && ctx.Err() == nil {
		f.log.Warn("recreate mandatory flow control objects", "err", err)
	}
}

// note classifies a request and names the match in the response
// headers. Long-running requests other than watches are not
// classified, as upstream.
func (f *flowControl) note(w http.ResponseWriter, r *http.Request, user *User, info *requestInfo) {
	rq := apf.Request{User: user.Name, Groups: user.Groups}
	if info != nil {
		if info.Verb != "watch" && isLongRunning(r.URL.Path, info) {
			return
		}
		rq.Verb, rq.APIGroup, rq.Resource, rq.Subresource, rq.Namespace = info.Verb, info.Group, info.Resource, info.Subresource, info.Namespace
		// A namespace is in itself, as upstream's request info says.
		if rq.Resource == "namespaces" && rq.Namespace == "" {
			rq.Namespace = info.Name
		}
	} else {
		if isLongRunning(r.URL.Path, nil) {
			return
		}
		rq.Verb, rq.Path = methodVerb(r.Method), r.URL.Path
	}
	m := f.classifier.Load().Classify(&rq)
	if m == nil {
		return
	}
	fsKey, plKey := flowSchemaHeader, priorityLevelHeader
	if r.ProtoMajor == 2 {
		fsKey, plKey = flowSchemaHeaderH2, priorityLevelHeaderH2
	}
	h := w.Header()
	h[fsKey] = m.FlowSchemaHeader
	h[plKey] = m.PriorityLevelHeader
}

// methodVerb is a non-resource request's verb: its method in lower case
// (constants for the usual ones, which would otherwise allocate).
func methodVerb(method string) string {
	switch method {
	case http.MethodGet:
		return "get"
	case http.MethodPost:
		return "post"
	case http.MethodPut:
		return "put"
	case http.MethodDelete:
		return "delete"
	case http.MethodHead:
		return "head"
	case http.MethodPatch:
		return "patch"
	case http.MethodOptions:
		return "options"
	}
	return strings.ToLower(method)
}
