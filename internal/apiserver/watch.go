package apiserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kemudi/kemudi/internal/storage"
)

const (
	// minWatchTimeout is upstream's --min-request-timeout: a watch without
	// timeoutSeconds lasts between it and twice it.
	minWatchTimeout = 30 * time.Minute
	// bookmarkInterval is how often a quiet watcher that allows bookmarks
	// gets one, so that it can resume from a recent revision.
	bookmarkInterval = time.Minute
	// maxWatchTimeout caps timeoutSeconds where a time.Duration would
	// overflow.
	maxWatchTimeout  = 100 * 365 * 24 * time.Hour
	initialEventsEnd = "k8s.io/initial-events-end"
)

func (s *Server) watch(rq *request) {
	q := rq.r.URL.Query()
	pred, err := s.predicate(rq)
	if err != nil {
		s.fail(rq, err)
		return
	}
	sendInitial := q.Get("sendInitialEvents") == "true"
	if sendInitial && q.Get("resourceVersionMatch") != string(metav1.ResourceVersionMatchNotOlderThan) {
		s.fail(rq, apierrors.NewInvalid(schemaGK("meta.k8s.io", "ListOptions"), "", field.ErrorList{
			field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
		}))
		return
	}
	timeout := minWatchTimeout + time.Duration(rand.Int64N(int64(minWatchTimeout)))
	// A negative timeoutSeconds is a watch whose time is already up: it
	// opens and ends at once, as upstream's.
	over := false
	if v := q.Get("timeoutSeconds"); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.fail(rq, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds %q", v)))
			return
		}
		over = secs < 0
		if secs > 0 {
			timeout = time.Duration(min(secs, int64(maxWatchTimeout/time.Second))) * time.Second
		}
	}
	ctx, cancel := context.WithTimeout(rq.ctx(), timeout)
	defer cancel()
	// A listener shutting down ends its watches at once: their clients
	// watch again elsewhere, or after the restart, instead of holding
	// the shutdown up.
	if l, ok := rq.r.Context().Value(listenerKey{}).(context.Context); ok {
		defer context.AfterFunc(l, cancel)()
	}

	opts := storage.WatchOptions{
		ResourceVersion:   q.Get("resourceVersion"),
		SendInitialEvents: sendInitial,
		Predicate:         pred,
	}
	bookmarks := q.Get("allowWatchBookmarks") == "true"
	if bookmarks {
		opts.BookmarkEvery = bookmarkInterval
	}
	ww := &watchWriter{s: s, rq: rq}
	w, err := s.store.Watch(ctx, rq.ep.listPrefix(rq.info.Namespace), opts)
	if err != nil {
		if storage.HasCode(err, storage.CodeExpired) {
			// As upstream's watch cache: the stream opens, then says 410.
			ww.start()
			ww.writeError(statusFor(err, rq.ep.groupResource(), ""))
			ww.flush()
			return
		}
		s.fail(rq, err)
		return
	}
	defer w.Stop()
	ww.start()
	if over {
		return
	}
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			if storage.HasCode(err, storage.CodeExpired) {
				ww.writeError(statusFor(err, rq.ep.groupResource(), ""))
				ww.flush()
			}
			return
		}
		if ev.Type == watch.Bookmark && !bookmarks && !ev.InitialEventsEnd {
			continue
		}
		if err := ww.writeEvent(ev); err != nil {
			s.log.Debug("watch write", "err", err)
			return
		}
		if !w.Pending() {
			if ww.flush() != nil {
				return
			}
		}
	}
}

// watchWriter frames watch events as upstream does: newline-separated JSON
// WatchEvents, or length-prefixed protobuf ones.
type watchWriter struct {
	s          *Server
	rq         *request
	sentHeader bool // table column definitions go in the first event only
}

func (ww *watchWriter) start() {
	h := ww.rq.w.Header()
	if ww.rq.out.mediaType == mediaProtobuf {
		h.Set("Content-Type", mediaProtobuf+";stream=watch")
	} else {
		h.Set("Content-Type", ww.rq.out.mediaType)
	}
	h.Set("Transfer-Encoding", "chunked")
	ww.rq.w.WriteHeader(http.StatusOK)
	ww.flush()
}

func (ww *watchWriter) flush() error {
	return http.NewResponseController(ww.rq.w).Flush()
}

func (ww *watchWriter) writeEvent(ev *storage.Event) error {
	if ev.Type == watch.Bookmark {
		return ww.writeFrame(string(ev.Type), ww.bookmark(ev))
	}
	if ww.rq.out.as == "" {
		// The same event goes to every watcher of this resource in this
		// format: encode and frame it once.
		frame, err := ev.Memo(encodingKey{gvk: ww.rq.ep.gvk, media: ww.rq.out.mediaType, pretty: ww.rq.out.pretty}, func() ([]byte, error) {
			obj, err := ww.s.versionedOrError(ww.rq.ctx(), ww.rq.ep, ev.Object)
			if cerr := ww.rq.ctx().Err(); err != nil && cerr != nil {
				// This watcher went away during the conversion: its
				// failure is not the event's, for other watchers to see.
				return nil, cerr
			}
			if se, ok := err.(*apierrors.StatusError); ok {
				// The client hears why it misses this object.
				st := se.ErrStatus
				st.Kind, st.APIVersion = "Status", "v1"
				return ww.encodeFrame(string(watch.Error), &st)
			}
			return ww.encodeFrame(string(ev.Type), obj)
		})
		if err != nil {
			return err
		}
		_, err = ww.rq.w.Write(frame)
		return err
	}
	return ww.writeFrame(string(ev.Type), ww.transform(ev.Object))
}

// encodingKey names one encoding of an event's object.
type encodingKey struct {
	gvk    schema.GroupVersionKind
	media  string
	pretty bool
}

// bookmark is an empty object of the watched kind carrying only the
// revision the client has reached.
func (ww *watchWriter) bookmark(ev *storage.Event) runtime.Object {
	obj := ww.rq.ep.New()
	obj.GetObjectKind().SetGroupVersionKind(ww.rq.ep.gvk)
	m, _ := meta.Accessor(obj)
	m.SetResourceVersion(strconv.FormatInt(ev.Rev, 10))
	if ev.InitialEventsEnd {
		m.SetAnnotations(map[string]string{initialEventsEnd: "true"})
	}
	if ww.rq.out.as == "Table" {
		t, err := ww.bookmarkTable(obj)
		if err == nil {
			return t
		}
		ww.s.log.Error("watch bookmark table", "err", err)
	}
	if ww.rq.out.as == "Table" || ww.rq.out.as == "PartialObjectMetadata" {
		return partialMetadata(obj, ww.rq.out.asVersion)
	}
	return obj
}

// bookmarkTable is a Table watch's bookmark as upstream sends it: the
// empty object's row (the column definitions if no event had them yet),
// whose object is its metadata whatever includeObject asks, for the
// client to find the revision and the initial-events-end annotation.
func (ww *watchWriter) bookmarkTable(obj runtime.Object) (*metav1.Table, error) {
	t, err := ww.s.table(ww.rq, []runtime.Object{obj}, nil, ww.sentHeader)
	if err != nil {
		return nil, err
	}
	raw, err := ww.s.encodeNested(ww.rq.out, partialMetadata(obj, ww.rq.out.asVersion))
	if err != nil {
		return nil, err
	}
	t.Rows[0].Object = runtime.RawExtension{Raw: raw}
	ww.sentHeader = true
	return t, nil
}

// transform turns a stored object into what the client asked for.
func (ww *watchWriter) transform(obj runtime.Object) runtime.Object {
	rq := ww.rq
	switch rq.out.as {
	case "Table":
		t, err := ww.s.table(rq, []runtime.Object{obj}, nil, ww.sentHeader)
		if err == nil {
			ww.sentHeader = true
			return t
		}
		ww.s.log.Error("watch table", "err", err)
	case "PartialObjectMetadata":
		return partialMetadata(obj, rq.out.asVersion)
	}
	return ww.s.versioned(rq.ctx(), rq.ep, obj)
}

func (ww *watchWriter) writeError(se *apierrors.StatusError) {
	st := se.ErrStatus
	st.Kind, st.APIVersion = "Status", "v1"
	_ = ww.writeFrame(string(watch.Error), &st)
}

func (ww *watchWriter) writeFrame(eventType string, obj runtime.Object) error {
	frame, err := ww.encodeFrame(eventType, obj)
	if err != nil {
		return err
	}
	_, err = ww.rq.w.Write(frame)
	return err
}

// encodeFrame is obj as one watch event on the wire.
func (ww *watchWriter) encodeFrame(eventType string, obj runtime.Object) ([]byte, error) {
	raw, err := ww.encode(obj)
	if err != nil {
		return nil, err
	}
	return ww.frame(eventType, raw)
}

// encode encodes a watched object as the response's format wants it in
// the object field of a watch event (JSON for YAML responses).
func (ww *watchWriter) encode(obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	enc := ww.rq.out.encoder(ww.s.serializers)
	if ww.rq.out.mediaType == mediaYAML {
		enc = ww.s.serializers.json
	}
	if err := enc.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// frame is one watch event on the wire: newline-ended JSON, or protobuf
// behind its 4-byte length.
func (ww *watchWriter) frame(eventType string, raw []byte) ([]byte, error) {
	if ww.rq.out.mediaType == mediaProtobuf {
		ev := metav1.WatchEvent{Type: eventType, Object: runtime.RawExtension{Raw: raw}}
		size := ev.Size()
		out := make([]byte, 4+size)
		binary.BigEndian.PutUint32(out, uint32(size))
		if _, err := ev.MarshalToSizedBuffer(out[4:]); err != nil {
			return nil, err
		}
		return out, nil
	}
	out := make([]byte, 0, len(raw)+len(eventType)+24)
	out = append(out, `{"type":"`...)
	out = append(out, eventType...)
	out = append(out, `","object":`...)
	out = append(out, raw...)
	out = append(out, "}\n"...)
	return out, nil
}
