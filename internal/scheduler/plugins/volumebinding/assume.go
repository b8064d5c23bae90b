package volumebinding

import (
	"fmt"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// assumeCache lays the volumes and claims the scheduler has reserved
// for pods over the listers' copies, until the informers bring the API
// writes (upstream's AssumeCache): a pod scheduled while the first
// one's binding is in flight sees its volume taken. An assumed copy
// gives way as soon as the informer has a newer version of the object.
type assumeCache struct {
	l      Listers
	mu     sync.Mutex
	pvs    map[string]*corev1.PersistentVolume
	claims map[string]*corev1.PersistentVolumeClaim
}

func newAssumeCache(l Listers) *assumeCache {
	return &assumeCache{l: l, pvs: map[string]*corev1.PersistentVolume{}, claims: map[string]*corev1.PersistentVolumeClaim{}}
}

// newer is true when resource version a is past b. Versions are etcd
// revisions; one that does not parse counts as newer when it differs.
func newer(a, b string) bool {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA != nil || errB != nil {
		return a != b
	}
	return x > y
}

func claimKey(namespace, name string) string { return namespace + "/" + name }

// claim returns a claim as the scheduler assumes it.
func (a *assumeCache) claim(namespace, name string) (*corev1.PersistentVolumeClaim, error) {
	api, err := a.l.Claims.PersistentVolumeClaims(namespace).Get(name)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.claims[claimKey(namespace, name)]; ok && !newer(api.ResourceVersion, c.ResourceVersion) {
		return c, nil
	}
	return api, nil
}

// volume returns a volume as the scheduler assumes it.
func (a *assumeCache) volume(name string) (*corev1.PersistentVolume, error) {
	api, err := a.l.Volumes.Get(name)
	if err != nil {
		return nil, err
	}
	return a.overlay(api), nil
}

// volumes lists every volume as the scheduler assumes it.
func (a *assumeCache) volumes() ([]*corev1.PersistentVolume, error) {
	list, err := a.l.Volumes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	n := len(a.pvs)
	a.mu.Unlock()
	if n == 0 {
		return list, nil
	}
	out := make([]*corev1.PersistentVolume, len(list))
	for i, pv := range list {
		out[i] = a.overlay(pv)
	}
	return out, nil
}

func (a *assumeCache) overlay(api *corev1.PersistentVolume) *corev1.PersistentVolume {
	a.mu.Lock()
	defer a.mu.Unlock()
	if pv, ok := a.pvs[api.Name]; ok && !newer(api.ResourceVersion, pv.ResourceVersion) {
		return pv
	}
	return api
}

// assumeVolume lays pv, a changed copy of a volume, over the lister's;
// it fails when the lister already has a newer version than pv's.
func (a *assumeCache) assumeVolume(pv *corev1.PersistentVolume) error {
	api, err := a.l.Volumes.Get(pv.Name)
	if err != nil {
		return err
	}
	if newer(api.ResourceVersion, pv.ResourceVersion) {
		return fmt.Errorf("PersistentVolume %q is out of sync (stored: %s, assume: %s)", pv.Name, api.ResourceVersion, pv.ResourceVersion)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pvs[pv.Name] = pv
	return nil
}

// assumeClaim is assumeVolume for a claim.
func (a *assumeCache) assumeClaim(pvc *corev1.PersistentVolumeClaim) error {
	api, err := a.l.Claims.PersistentVolumeClaims(pvc.Namespace).Get(pvc.Name)
	if err != nil {
		return err
	}
	if newer(api.ResourceVersion, pvc.ResourceVersion) {
		return fmt.Errorf("PersistentVolumeClaim %q is out of sync (stored: %s, assume: %s)", claimKey(pvc.Namespace, pvc.Name), api.ResourceVersion, pvc.ResourceVersion)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.claims[claimKey(pvc.Namespace, pvc.Name)] = pvc
	return nil
}

// forget drops what one pod assumed; a copy another pod assumed since
// stays.
func (a *assumeCache) forget(pvs []*corev1.PersistentVolume, claims []*corev1.PersistentVolumeClaim) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, pv := range pvs {
		if a.pvs[pv.Name] == pv {
			delete(a.pvs, pv.Name)
		}
	}
	for _, c := range claims {
		if k := claimKey(c.Namespace, c.Name); a.claims[k] == c {
			delete(a.claims, k)
		}
	}
}

// broadcast wakes every waiter on each notify.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel closed by the next notify.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *broadcast) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}
