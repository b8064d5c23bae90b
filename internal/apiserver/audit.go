package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"sigs.k8s.io/yaml"

	"github.com/kemudi/kemudi/internal/apiserver/audit"
	"github.com/kemudi/kemudi/internal/auth"
)

// Auditing is where the server records what it was asked and answered:
// Policy says at which level, Sink takes the events.
type Auditing struct {
	Policy *audit.Policy
	Sink   interface{ Write(*audit.Event) error }
}

// maxAuditBody bounds the request and response bodies an event carries.
const maxAuditBody = 3 << 20

// auditRecord is one request's audit event while it is served.
type auditRecord struct {
	ev          audit.Event
	decision    audit.Decision
	longRunning bool
	// status is the error the server answered with, if any.
	status *metav1.Status
	// request and response capture the bodies at the levels that
	// record them; their media types say how to read them.
	request, response         *bytes.Buffer
	requestType, responseType string
	skipped                   bool // a body was larger than maxAuditBody
}

// auditBegin evaluates the policy for the request of user (nil for one
// that failed authentication) and writes its RequestReceived event.
func (s *Server) auditBegin(w http.ResponseWriter, r *http.Request, user *User, a auth.Attributes, received time.Time) *auditRecord {
	rec, _ := w.(*statusRecorder)
	if s.audit == nil || rec == nil {
		return nil
	}
	d := s.audit.Policy.Evaluate(a)
	if d.Level == audit.LevelNone {
		return nil
	}
	id := r.Header.Get("Audit-ID")
	if id == "" {
		id = string(uuid.NewUUID())
	}
	w.Header().Set("Audit-Id", id)
	ar := &auditRecord{decision: d}
	ev := &ar.ev
	ev.APIVersion, ev.Kind = audit.GroupVersion, "Event"
	ev.Level, ev.AuditID, ev.RequestURI, ev.Verb = d.Level, types.UID(id), r.URL.RequestURI(), a.Verb
	if user != nil {
		ev.User = userInfo(user)
	}
	ev.SourceIPs = sourceIPs(r)
	ev.UserAgent = r.UserAgent()
	ev.RequestReceivedTimestamp = metav1.NewMicroTime(received)
	if a.ResourceRequest {
		ev.ObjectRef = &audit.ObjectReference{
			Resource: a.Resource, Namespace: a.Namespace, Name: a.Name,
			APIGroup: a.APIGroup, APIVersion: a.APIVersion, Subresource: a.Subresource,
		}
		switch a.Subresource {
		case "exec", "attach", "portforward", "proxy":
			ar.longRunning = true
		}
		ar.longRunning = ar.longRunning || a.Verb == "watch"
	}
	if !d.Level.Less(audit.LevelRequest) && r.Body != nil && r.Body != http.NoBody {
		ar.request, ar.requestType = &bytes.Buffer{}, r.Header.Get("Content-Type")
		r.Body = &teeBody{ReadCloser: r.Body, rec: ar}
	}
	if !d.Level.Less(audit.LevelRequestResponse) && !ar.longRunning {
		ar.response = &bytes.Buffer{}
	}
	rec.audit = ar
	s.auditWrite(ar, audit.StageRequestReceived, nil)
	return ar
}

// auditObjectRef completes the event's objectRef from the decoded body,
// as upstream's LogRequestObject: a create names its object only there.
// The RequestReceived stage, written before, keeps what the path said.
func auditObjectRef(w http.ResponseWriter, obj runtime.Object) {
	rec, ok := w.(*statusRecorder)
	if !ok || rec.audit == nil || rec.audit.ev.ObjectRef == nil {
		return
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	ref := rec.audit.ev.ObjectRef
	if ref.Name == "" {
		ref.Name = m.GetName()
	}
	if ref.Namespace == "" {
		ref.Namespace = m.GetNamespace()
	}
	if ref.UID == "" {
		ref.UID = m.GetUID()
	}
	if ref.ResourceVersion == "" {
		ref.ResourceVersion = m.GetResourceVersion()
	}
}

// auditImpersonated notes whom an impersonating request acts as.
func auditImpersonated(w http.ResponseWriter, as *User) {
	if rec, ok := w.(*statusRecorder); ok && rec.audit != nil {
		ui := userInfo(as)
		rec.audit.ev.ImpersonatedUser = &ui
	}
}

// auditStarted writes a long-running request's ResponseStarted event.
func (s *Server) auditStarted(rec *statusRecorder) {
	if ar := rec.audit; ar != nil && ar.longRunning {
		s.auditWrite(ar, audit.StageResponseStarted, rec)
	}
}

// auditEnd writes the ResponseComplete event (Panic when the handler
// panicked).
func (s *Server) auditEnd(rec *statusRecorder, panicked bool) {
	ar := rec.audit
	if ar == nil {
		return
	}
	stage := audit.StageResponseComplete
	if panicked {
		stage = audit.StagePanic
	}
	s.auditWrite(ar, stage, rec)
}

// auditFailedAuthentication records a request refused for its
// credentials, as upstream: one ResponseStarted event with no user.
func (s *Server) auditFailedAuthentication(w http.ResponseWriter, r *http.Request, a auth.Attributes, received time.Time) {
	ar := s.auditBegin(w, r, nil, a, received)
	if ar == nil {
		return
	}
	rec := w.(*statusRecorder)
	rec.audit = nil
	ar.status = &metav1.Status{Code: http.StatusUnauthorized, Message: "Authentication failed"}
	ar.ev.ResponseStatus = ar.status
	s.auditEmit(ar, audit.StageResponseStarted)
}

func (s *Server) auditWrite(ar *auditRecord, stage audit.Stage, rec *statusRecorder) {
	for _, o := range ar.decision.OmitStages {
		if o == stage {
			return
		}
	}
	ev := &ar.ev
	if rec != nil {
		switch {
		case ar.status != nil:
			ev.ResponseStatus = ar.status
		default:
			ev.ResponseStatus = &metav1.Status{Code: int32(rec.code)}
		}
		if rec.notes != nil {
			ev.Annotations = rec.notes.Annotations()
		}
		if stage == audit.StageResponseComplete {
			ev.RequestObject = s.auditObject(ar.request, ar.requestType, ar.decision.OmitManagedFields, ar.skipped)
			ev.ResponseObject = s.auditObject(ar.response, ar.responseType, ar.decision.OmitManagedFields, ar.skipped)
		}
	}
	s.auditEmit(ar, stage)
}

func (s *Server) auditEmit(ar *auditRecord, stage audit.Stage) {
	ar.ev.Stage = stage
	ar.ev.StageTimestamp = metav1.NewMicroTime(time.Now())
	if err := s.audit.Sink.Write(&ar.ev); err != nil {
		s.log.Error("audit", "auditID", ar.ev.AuditID, "err", err)
	}
}

// auditObject is a captured body as the JSON an event carries: JSON as
// sent, YAML and protobuf converted.
func (s *Server) auditObject(b *bytes.Buffer, mediaType string, omitManagedFields, skipped bool) json.RawMessage {
	if b == nil || b.Len() == 0 || skipped {
		return nil
	}
	var raw []byte
	switch mediaOf(mediaType) {
	case mediaProtobuf:
		obj, _, err := s.serializers.protobuf.Decode(b.Bytes(), nil, nil)
		if err != nil {
			return nil
		}
		var out bytes.Buffer
		if err := s.serializers.json.Encode(obj, &out); err != nil {
			return nil
		}
		raw = out.Bytes()
	case mediaYAML:
		j, err := yaml.YAMLToJSON(b.Bytes())
		if err != nil {
			return nil
		}
		raw = j
	default:
		raw = bytes.TrimSpace(b.Bytes())
		if !json.Valid(raw) {
			return nil
		}
	}
	if omitManagedFields {
		raw = withoutManagedFields(raw)
	}
	return raw
}

// withoutManagedFields drops metadata.managedFields from an object, and
// from each item of a list.
func withoutManagedFields(raw []byte) []byte {
	var obj map[string]any
	if json.Unmarshal(raw, &obj) != nil {
		return raw
	}
	strip := func(o map[string]any) {
		if m, ok := o["metadata"].(map[string]any); ok {
			delete(m, "managedFields")
		}
	}
	strip(obj)
	if items, ok := obj["items"].([]any); ok {
		for _, it := range items {
			if o, ok := it.(map[string]any); ok {
				strip(o)
			}
		}
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return raw
	}
	return out
}

// teeBody keeps what the handler reads of the request body.
type teeBody struct {
	io.ReadCloser
	rec *auditRecord
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	capture(t.rec, t.rec.request, p[:n])
	return n, err
}

func capture(ar *auditRecord, b *bytes.Buffer, p []byte) {
	if b.Len()+len(p) > maxAuditBody {
		ar.skipped = true
		return
	}
	b.Write(p)
}

// sourceIPs are X-Forwarded-For's addresses, X-Real-Ip, then the peer,
// as upstream lists them.
func sourceIPs(r *http.Request) []string {
	var ips []string
	for _, f := range strings.Split(r.Header.Get("X-Forwarded-For"), ",") {
		if ip := net.ParseIP(strings.TrimSpace(f)); ip != nil {
			ips = append(ips, ip.String())
		}
	}
	if ip := net.ParseIP(strings.TrimSpace(r.Header.Get("X-Real-Ip"))); ip != nil {
		ips = append(ips, ip.String())
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil {
		s := ip.String()
		if len(ips) == 0 || ips[len(ips)-1] != s {
			ips = append(ips, s)
		}
	}
	return ips
}

// annotateDecision records the authorizer's answer, as upstream's
// authorization.k8s.io annotations.
func annotateDecision(ctx context.Context, d auth.Decision, reason string) {
	decision := "forbid"
	if d == auth.Allow {
		decision = "allow"
	}
	auth.Annotate(ctx, "authorization.k8s.io/decision", decision)
	if reason != "" {
		auth.Annotate(ctx, "authorization.k8s.io/reason", reason)
	}
}
