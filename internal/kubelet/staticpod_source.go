package kubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// staticPods runs the static pods of the manifest directory
// (PodManifestPath) and of the manifest URL (ManifestURL,
// staticpod_url_source.go), and keeps their mirror pods in the API. The
// directory is read when inotify reports a change in it, every
// FileCheckFrequency, and at once when a mirror pod changes; the URL is
// fetched every HTTPCheckFrequency. Each source's pods are kept apart,
// as upstream keeps them, and each source's read replaces its own set.
type staticPods struct {
	k   *Kubelet
	dir string     // "" = no directory
	url *urlSource // nil = no URL
	// setPod hands a pod (nil: none any more) to the worker of uid.
	setPod func(uid types.UID, pod *corev1.Pod)

	// applying makes each change of a set, workers included, one at a time.
	applying sync.Mutex
	mu       sync.Mutex
	sets     map[string]map[types.UID]*corev1.Pod // each source's pods, by UID (the content's hash)
	origins  map[string]map[types.UID]string      // each source's pods' file or URL
	pods     map[types.UID]*corev1.Pod            // the pods run: every set's but the shadowed
	byName   map[string]*corev1.Pod               // the pods run, by namespace/name
	shadowed map[types.UID]bool                   // pods not run: another source's pod has the name
	bad      map[string]string                    // file → the error last logged for it
	wake     chan struct{}
}

func newStaticPods(k *Kubelet) (*staticPods, error) {
	s := &staticPods{k: k, dir: k.opts.PodManifestPath,
		sets: map[string]map[types.UID]*corev1.Pod{}, origins: map[string]map[types.UID]string{},
		pods: map[types.UID]*corev1.Pod{}, byName: map[string]*corev1.Pod{}, shadowed: map[types.UID]bool{},
		bad: map[string]string{}, wake: make(chan struct{}, 1)}
	s.setPod = func(uid types.UID, pod *corev1.Pod) { k.worker(uid).setPod(pod) }
	if k.opts.ManifestURL != "" {
		u, err := newURLSource(k.opts)
		if err != nil {
			return nil, err
		}
		s.url = u
		k.log.Info("static pods from URL", "url", redacted(u.url), "headers", headerKeys(u.header), "every", k.opts.HTTPCheckFrequency)
	}
	return s, nil
}

// poke asks for a reconcile now (a mirror pod changed in the API).
func (s *staticPods) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// byKey is the static pod of that namespace/name, or nil.
func (s *staticPods) byKey(ns, name string) *corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName[ns+"/"+name]
}

// loadAll reads every source once; the kubelet runs it before its first
// relist, so that the containers of static pods are adopted and not
// taken for orphans.
func (s *staticPods) loadAll(ctx context.Context) {
	s.load()
	if s.url != nil {
		s.loadURL(ctx)
	}
}

// load reads the directory and makes its pods the file source's set.
func (s *staticPods) load() {
	if s.dir == "" {
		return
	}
	want, files := s.read()
	s.apply(sourceFile, want, files)
}

// apply makes want the source's set, and starts and stops the workers
// of the pods that this adds to or removes from the pods run.
func (s *staticPods) apply(source string, want map[types.UID]*corev1.Pod, origin map[types.UID]string) {
	s.applying.Lock()
	defer s.applying.Unlock()
	s.mu.Lock()
	s.sets[source], s.origins[source] = want, origin
	run, shadowed := mergeStaticPods(s.sets)
	var gone []types.UID
	for uid := range s.pods {
		if run[uid] == nil {
			gone = append(gone, uid)
		}
	}
	var added []*corev1.Pod
	for uid, p := range run {
		if s.pods[uid] == nil {
			added = append(added, p)
		}
	}
	var newlyShadowed []*corev1.Pod
	shadowedNow := map[types.UID]bool{}
	for _, p := range shadowed {
		shadowedNow[p.UID] = true
		if !s.shadowed[p.UID] {
			newlyShadowed = append(newlyShadowed, p)
		}
	}
	s.pods, s.shadowed = run, shadowedNow
	s.byName = map[string]*corev1.Pod{}
	for _, p := range run {
		s.byName[p.Namespace+"/"+p.Name] = p
	}
	from := func(p *corev1.Pod) string { return s.origins[p.Annotations[annotationConfigSource]][p.UID] }
	s.mu.Unlock()
	for _, p := range newlyShadowed {
		s.k.log.Warn("static pod skipped: a pod of the manifest directory has its name",
			"pod", klogName(p), "source", p.Annotations[annotationConfigSource])
	}
	for _, uid := range gone {
		s.k.log.Info("static pod removed", "uid", uid)
		s.setPod(uid, nil)
	}
	for _, p := range added {
		s.k.log.Info("static pod added", "pod", klogName(p), "uid", p.UID,
			"source", p.Annotations[annotationConfigSource], "from", from(p))
		s.setPod(p.UID, p)
	}
	if len(gone)+len(added) > 0 {
		s.poke()
	}
}

// mergeStaticPods is the pods to run of every source's set: a pod whose
// namespace/name a pod of an earlier source holds is shadowed, not run:
// the directory's pods come first. (Upstream runs both and their syncs take the one
// mirror pod from each other.) It does no I/O.
func mergeStaticPods(sets map[string]map[types.UID]*corev1.Pod) (run map[types.UID]*corev1.Pod, shadowed []*corev1.Pod) {
	run = map[types.UID]*corev1.Pod{}
	names := map[string]bool{}
	for _, src := range []string{sourceFile, sourceHTTP} {
		pods := make([]*corev1.Pod, 0, len(sets[src]))
		for _, p := range sets[src] {
			pods = append(pods, p)
		}
		// Within a source names are distinct (its reader drops
		// duplicates); the order only makes the result stable.
		sort.Slice(pods, func(i, j int) bool { return pods[i].UID < pods[j].UID })
		var taken []string
		for _, p := range pods {
			key := p.Namespace + "/" + p.Name
			if names[key] {
				shadowed = append(shadowed, p)
				continue
			}
			taken = append(taken, key)
			run[p.UID] = p
		}
		for _, key := range taken {
			names[key] = true
		}
	}
	return run, shadowed
}

// known is the source's pod of that UID as first seen (its config.seen
// kept), or pod itself stamped as seen now.
func (s *staticPods) known(source string, pod *corev1.Pod) *corev1.Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.sets[source][pod.UID]; old != nil {
		return old
	}
	pod.Annotations[annotationConfigSeen] = time.Now().UTC().Format(time.RFC3339Nano)
	return pod
}

// read parses every manifest of the directory; a file that is not a pod
// is logged (once per error) with its reason and skipped. Files whose
// name starts with "." are ignored, as upstream ignores them.
func (s *staticPods) read() (map[types.UID]*corev1.Pod, map[types.UID]string) {
	out, files := map[types.UID]*corev1.Pod{}, map[types.UID]string{}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		if !os.IsNotExist(err) {
			s.k.log.Error("read static pod manifests", "path", s.dir, "err", err)
		}
		return out, files
	}
	names := map[string]string{}
	seenBad := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		file := filepath.Join(s.dir, e.Name())
		pod, err := s.readFile(file)
		if err == nil {
			if other, dup := names[pod.Namespace+"/"+pod.Name]; dup {
				err = fmt.Errorf("pod %s is also defined in %s", klogName(pod), other)
			}
		}
		if err != nil {
			seenBad[file] = true
			if s.bad[file] != err.Error() {
				s.bad[file] = err.Error()
				s.k.log.Error("static pod manifest skipped", "file", file, "err", err)
			}
			continue
		}
		names[pod.Namespace+"/"+pod.Name] = file
		out[pod.UID], files[pod.UID] = pod, file
	}
	for f := range s.bad {
		if !seenBad[f] {
			delete(s.bad, f)
		}
	}
	return out, files
}

func (s *staticPods) readFile(file string) (*corev1.Pod, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pod, err := StaticPod(b, s.k.opts.NodeName)
	if err != nil {
		return nil, err
	}
	return s.known(sourceFile, pod), nil
}

// loop re-reads the directory when inotify reports a change in it, and
// every FileCheckFrequency as well (as upstream, in case an event was
// lost or the directory could not be watched), polls the URL, and keeps
// the mirrors until ctx ends.
func (s *staticPods) loop(ctx context.Context) {
	if s.url != nil {
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() { s.pollURL(ctx) })
	}
	var tick <-chan time.Time
	var changed <-chan fsnotify.Event
	var failed <-chan error
	if s.dir != "" {
		t := time.NewTicker(s.k.opts.FileCheckFrequency)
		defer t.Stop()
		tick = t.C
		if w, err := fsnotify.NewWatcher(); err != nil {
			s.k.log.Warn("watch static pod manifests", "err", err)
		} else {
			defer w.Close()
			if err := w.Add(s.dir); err != nil {
				s.k.log.Warn("watch static pod manifests", "path", s.dir, "err", err)
			} else {
				// A file written after loadAll read the directory and
				// before the watch began sends no event: read it again.
				s.load()
			}
			changed, failed = w.Events, w.Errors
		}
	}
	for {
		s.syncMirrors(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick:
			s.load()
		case <-changed:
			s.load()
		case err := <-failed:
			// An overflowed queue lost events: read everything again.
			s.k.log.Warn("watch static pod manifests", "err", err)
			s.load()
		case <-s.wake:
		}
	}
}

// syncMirrors creates, replaces and deletes mirror pods so that each
// static pod has exactly its own.
func (s *staticPods) syncMirrors(ctx context.Context) {
	s.mu.Lock()
	statics := make([]*corev1.Pod, 0, len(s.byName))
	for _, p := range s.byName {
		statics = append(statics, p)
	}
	s.mu.Unlock()
	sort.Slice(statics, func(i, j int) bool { return statics[i].Name < statics[j].Name })
	inAPI := map[string]*corev1.Pod{}
	for _, obj := range s.k.podsInf.GetStore().List() {
		if p, ok := obj.(*corev1.Pod); ok {
			inAPI[p.Namespace+"/"+p.Name] = p
		}
	}
	for _, st := range statics {
		key := st.Namespace + "/" + st.Name
		s.act(ctx, st, inAPI[key])
		delete(inAPI, key)
	}
	// Mirrors of static pods that are gone.
	for _, p := range inAPI {
		if isMirrorPod(p) {
			s.act(ctx, nil, p)
		}
	}
}

func (s *staticPods) act(ctx context.Context, static, inAPI *corev1.Pod) {
	pods := s.k.client.CoreV1().Pods
	switch MirrorDecision(static, inAPI) {
	case MirrorCreate:
		_, err := pods(static.Namespace).Create(ctx, MirrorPod(static, s.k.node.Node()), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
			s.k.log.Warn("create mirror pod", "pod", klogName(static), "err", err)
		}
	case MirrorDelete:
		err := pods(inAPI.Namespace).Delete(ctx, inAPI.Name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &inAPI.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
			s.k.log.Warn("delete mirror pod", "pod", klogName(inAPI), "err", err)
		}
		// Its replacement is created when the informer has seen the
		// deletion (podGone pokes).
	case MirrorBlocked:
		s.k.log.Warn("a pod that is not the static pod's mirror has its name", "pod", klogName(static))
	}
}

// mirrorOf is the API's mirror of a static pod, if it is up to date.
func (k *Kubelet) mirrorOf(static *corev1.Pod) *corev1.Pod {
	obj, ok, err := k.podsInf.GetStore().GetByKey(static.Namespace + "/" + static.Name)
	if err != nil || !ok {
		return nil
	}
	m, ok := obj.(*corev1.Pod)
	if !ok || MirrorDecision(static, m) != MirrorKeep || !isMirrorPod(m) {
		return nil
	}
	return m
}

// mirrorChanged: a mirror pod was added, changed or deleted in the API.
// Its static pod's worker syncs (its status is written on the mirror)
// and the mirrors are reconciled.
func (k *Kubelet) mirrorChanged(mirror *corev1.Pod) {
	if k.static == nil {
		return
	}
	k.static.poke()
	if st := k.static.byKey(mirror.Namespace, mirror.Name); st != nil {
		k.wake(st.UID)
	}
}

// withMirrorStatus is the static pod with the status last written on its
// mirror (start time, conditions' transition times), as upstream's
// status manager keeps it.
func (k *Kubelet) withMirrorStatus(static *corev1.Pod) *corev1.Pod {
	m := k.mirrorOf(static)
	if m == nil {
		return static
	}
	p := static.DeepCopy()
	p.Status = *m.Status.DeepCopy()
	return p
}
