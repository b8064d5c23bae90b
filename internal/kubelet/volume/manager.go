package volume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/kubelet/downward"
)

// Manager makes and removes pods' volumes under <root>/<pod uid>/volumes.
type Manager struct {
	root   string
	client kubernetes.Interface
	log    *slog.Logger

	mu     sync.Mutex
	tokens map[string]token // by pod uid/volume/path
	owned  map[string]bool  // pod uid/volume: ownership set for fsGroup
	// pvs are claims' volumes by pod uid/volume, fetched once: a bound
	// claim keeps its volume for the pod's life, and the periodic refresh
	// of API-content volumes must not cost two GETs per claim.
	pvs map[string]*corev1.PersistentVolume
	// csi mounts CSI persistent volumes; nil serves none.
	csi CSI
}

// CSI stages and publishes CSI persistent volumes (csi.Mounter).
type CSI interface {
	// SetUp returns the host path of the pod's volume once published,
	// and whether the pod's fsGroup is to be applied to it.
	SetUp(ctx context.Context, pod *corev1.Pod, pv *corev1.PersistentVolume, readOnly bool) (string, bool, error)
	// TearDown unpublishes (and unstages) the pod's volumes, bounding
	// its calls to the drivers itself.
	TearDown(ctx context.Context, uid string) error
	// InUse names the volumes staged or published on the node.
	InUse() []corev1.UniqueVolumeName
}

// WithCSI has the manager mount CSI persistent volumes through c.
func (m *Manager) WithCSI(c CSI) *Manager {
	m.csi = c
	return m
}

type token struct {
	value           string
	issued, expires time.Time
}

// New makes a manager of the pod directories under root.
func New(root string, client kubernetes.Interface, log *slog.Logger) *Manager {
	return &Manager{root: root, client: client, log: log, tokens: map[string]token{}, owned: map[string]bool{}, pvs: map[string]*corev1.PersistentVolume{}}
}

// PodDir is where a pod's volumes and files live.
func (m *Manager) PodDir(uid types.UID) string { return PodDir(m.root, uid) }

// Error is a volume that could not be set up (upstream's FailedMount).
type Error struct {
	Volume string
	Err    error
}

func (e *Error) Error() string {
	op := "SetUp"
	var o interface{ Operation() string }
	if errors.As(e.Err, &o) {
		op = o.Operation() // a CSI volume's WaitForAttach or MountDevice
	}
	return fmt.Sprintf("MountVolume.%s failed for volume %q : %v", op, e.Volume, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// Env is what the downward API of a volume may show.
type Env struct {
	PodIPs, HostIPs []string
	Allocatable     corev1.ResourceList
}

// Mounted is a volume ready on the host: the path the runtime
// bind-mounts into containers, and whether it must be read-only there
// (upstream mounts API-content volumes and claims given readOnly so,
// whatever the container's volumeMount says).
type Mounted struct {
	Path     string
	ReadOnly bool
	// Image is an image volume's source (Path is then empty): the
	// runtime mounts the image.
	Image *corev1.ImageVolumeSource
}

// SetUp makes (or refreshes) every volume of pod and returns each one's
// host path by name. A claim that cannot be resolved yet (not bound, not
// the pod's) is a *ProcessError; otherwise the first volume that fails
// is an *Error. Volumes no container uses are skipped when they need a
// claim, as upstream's volume manager skips them.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod, env Env) (map[string]Mounted, error) {
	use := podVolumeUse(pod)
	out := map[string]Mounted{}
	pvs := map[string]*corev1.PersistentVolume{}
	var perr ProcessError
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if name, _ := claimName(pod, v); name == "" || !use.used(v.Name) {
			continue
		}
		pv, err := m.resolvedVolume(ctx, pod, v, use)
		if err != nil {
			perr.Failed = append(perr.Failed, v.Name)
			perr.Errs = append(perr.Errs, err.Error())
			continue
		}
		pvs[v.Name] = pv
	}
	var first error
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if name, _ := claimName(pod, v); name != "" && pvs[v.Name] == nil {
			continue
		}
		mv, err := m.setUp(ctx, pod, v, pvs[v.Name], env)
		if err != nil {
			name := v.Name
			if pv := pvs[v.Name]; pv != nil {
				name = pv.Name // upstream names the persistent volume
			}
			if first == nil {
				first = &Error{Volume: name, Err: err}
			}
			if use.used(v.Name) {
				perr.Unmounted = append(perr.Unmounted, v.Name)
			}
			continue
		}
		out[v.Name] = mv
	}
	if len(perr.Errs) > 0 {
		perr.Unmounted = append(perr.Unmounted, perr.Failed...)
		return out, &perr
	}
	return out, first
}

// ProcessError is upstream's "Unable to attach or mount volumes" for a
// pod whose claims could not be resolved to volumes.
type ProcessError struct {
	Unmounted, Failed []string
	Errs              []string
}

func (e *ProcessError) Error() string {
	u, f := slices.Sorted(slices.Values(e.Unmounted)), slices.Sorted(slices.Values(e.Failed))
	return fmt.Sprintf("Unable to attach or mount volumes: unmounted volumes=[%s], unattached volumes=[], failed to process volumes=[%s]: %s",
		strings.Join(u, " "), strings.Join(f, " "), strings.Join(e.Errs, "; "))
}

// volumeUse is which volumes the pod's containers mount and which they
// take as raw devices.
type volumeUse struct{ mounted, devices map[string]bool }

func (u volumeUse) used(name string) bool { return u.mounted[name] || u.devices[name] }

// InUse are the names of the volumes the pod's containers mount or take
// as raw devices: the ones the kubelet sets up.
func InUse(pod *corev1.Pod) map[string]bool {
	u := podVolumeUse(pod)
	out := maps.Clone(u.mounted)
	maps.Copy(out, u.devices)
	return out
}

func podVolumeUse(pod *corev1.Pod) volumeUse {
	u := volumeUse{mounted: map[string]bool{}, devices: map[string]bool{}}
	add := func(ms []corev1.VolumeMount, ds []corev1.VolumeDevice) {
		for _, m := range ms {
			u.mounted[m.Name] = true
		}
		for _, d := range ds {
			u.devices[d.Name] = true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		add(c.VolumeMounts, c.VolumeDevices)
	}
	for _, c := range pod.Spec.Containers {
		add(c.VolumeMounts, c.VolumeDevices)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		add(c.VolumeMounts, c.VolumeDevices)
	}
	return u
}

func (m *Manager) dir(pod *corev1.Pod, plugin, name string) string {
	return Dir(m.PodDir(pod.UID), plugin, name)
}

// setUp makes one volume; pv is the claim's volume for a claim.
func (m *Manager) setUp(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, pv *corev1.PersistentVolume, env Env) (Mounted, error) {
	fsGroup, policy := podFSGroup(pod)
	switch {
	case pv != nil:
		_, ro := claimName(pod, v)
		if pv.Spec.CSI != nil && m.csi != nil {
			p, own, err := m.csi.SetUp(ctx, pod, pv, ro)
			if own && m.firstSetUp(pod, v.Name) {
				m.logOwnership(setOwnership(p, fsGroup, policy, false))
			}
			return Mounted{Path: p, ReadOnly: ro}, err
		}
		p, err := persistentPath(pv)
		if err != nil {
			return Mounted{}, err
		}
		// Upstream changes ownership of local volumes only (hostPath has
		// no ownership management) and only when mounted read-write.
		if pv.Spec.Local != nil && !ro && m.firstSetUp(pod, v.Name) {
			m.logOwnership(setOwnership(p, fsGroup, policy, false))
		}
		return Mounted{Path: p, ReadOnly: ro}, nil
	case v.EmptyDir != nil:
		p, err := emptyDir(m.dir(pod, PluginEmptyDir, v.Name), v.EmptyDir)
		if err == nil && m.firstSetUp(pod, v.Name) {
			m.logOwnership(setOwnership(p, fsGroup, nil, false))
		}
		return Mounted{Path: p}, err
	case v.HostPath != nil:
		p, err := hostPath(v.HostPath)
		return Mounted{Path: p}, err
	case v.Image != nil:
		return imageVolume(v.Image), nil
	}
	dir, files, err := m.apiFiles(ctx, pod, v, env)
	if err != nil {
		return Mounted{}, err
	}
	perms := func() error { m.logOwnership(setOwnership(dir, fsGroup, nil, true)); return nil }
	if fsGroup == nil {
		perms = nil
	}
	return Mounted{Path: dir, ReadOnly: true}, writeAtomic(dir, files, perms)
}

// apiFiles are the files of a volume whose content comes from the API
// (configMap, secret, downwardAPI, projected) and the directory they
// go to.
func (m *Manager) apiFiles(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, env Env) (string, map[string]File, error) {
	var plugin string
	var files map[string]File
	var err error
	switch {
	case v.ConfigMap != nil:
		plugin = PluginConfigMap
		files, err = m.configMapFiles(ctx, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode(v.ConfigMap.DefaultMode))
	case v.Secret != nil:
		plugin = PluginSecret
		files, err = m.secretFiles(ctx, pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode(v.Secret.DefaultMode))
	case v.DownwardAPI != nil:
		plugin = PluginDownwardAPI
		files, err = downwardFiles(pod, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode), env)
	case v.Projected != nil:
		plugin = PluginProjected
		files, err = m.projectedFiles(ctx, pod, v, env)
	default:
		return "", nil, errors.New("volume type not supported by this kubelet")
	}
	if err != nil {
		return "", nil, err
	}
	if fsGroup, _ := podFSGroup(pod); fsGroup != nil {
		// The ownership change adds group read: the files are compared
		// with what they will be after it.
		for k, f := range files {
			f.Mode = groupMode(f.Mode, true)
			files[k] = f
		}
	}
	return m.dir(pod, plugin, v.Name), files, nil
}

func podFSGroup(pod *corev1.Pod) (*int64, *corev1.PodFSGroupChangePolicy) {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup, sc.FSGroupChangePolicy
	}
	return nil, nil
}

// firstSetUp reports whether the volume is set up for the first time
// since the kubelet started: ownership is changed then only, as
// upstream changes it when it mounts, not at every sync.
func (m *Manager) firstSetUp(pod *corev1.Pod, volume string) bool {
	key := string(pod.UID) + "/" + volume
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.owned[key] {
		return false
	}
	m.owned[key] = true
	return true
}

// logOwnership logs files whose ownership could not be changed; as
// upstream, the volume is used all the same.
func (m *Manager) logOwnership(err error) {
	if err != nil {
		m.log.Warn("set volume ownership for fsGroup", "err", err)
	}
}

func mode(m *int32) os.FileMode {
	if m == nil {
		return 0o644
	}
	return os.FileMode(*m)
}

func itemMode(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m)
}

// project picks the keys (all, or items) of data into files.
func project(kind, name string, data map[string][]byte, items []corev1.KeyToPath, def os.FileMode, optional bool) (map[string]File, error) {
	files := map[string]File{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = File{Data: v, Mode: def}
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("configuration of %s %q has no key %q", kind, name, it.Key)
		}
		files[it.Path] = File{Data: v, Mode: itemMode(it.Mode, def)}
	}
	return files, nil
}

func (m *Manager) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, def os.FileMode) (map[string]File, error) {
	cm, err := m.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && ptr.Deref(optional, false) {
		return map[string]File{}, nil
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("configmap %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get configmap %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return project("configmap", name, data, items, def, ptr.Deref(optional, false))
}

func (m *Manager) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, def os.FileMode) (map[string]File, error) {
	s, err := m.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && ptr.Deref(optional, false) {
		return map[string]File{}, nil
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("secret %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %q: %w", name, err)
	}
	return project("secret", name, s.Data, items, def, ptr.Deref(optional, false))
}

func downwardFiles(pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def os.FileMode, env Env) (map[string]File, error) {
	files := map[string]File{}
	for _, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = downward.Field(pod, it.FieldRef.FieldPath, env.PodIPs, env.HostIPs)
		case it.ResourceFieldRef != nil:
			val, err = downward.Resource(pod, nil, it.ResourceFieldRef, env.Allocatable)
		}
		if err != nil {
			return nil, err
		}
		files[it.Path] = File{Data: []byte(val), Mode: itemMode(it.Mode, def)}
	}
	return files, nil
}

func (m *Manager) projectedFiles(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, env Env) (map[string]File, error) {
	def := mode(v.Projected.DefaultMode)
	files := map[string]File{}
	add := func(f map[string]File, err error) error {
		if err != nil {
			return err
		}
		for k, x := range f {
			files[k] = x
		}
		return nil
	}
	for _, src := range v.Projected.Sources {
		var err error
		switch {
		case src.ConfigMap != nil:
			err = add(m.configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def))
		case src.Secret != nil:
			err = add(m.secretFiles(ctx, pod.Namespace, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def))
		case src.DownwardAPI != nil:
			err = add(downwardFiles(pod, src.DownwardAPI.Items, def, env))
		case src.ServiceAccountToken != nil:
			var tok string
			tok, err = m.token(ctx, pod, v.Name, src.ServiceAccountToken)
			if err == nil {
				// With an fsGroup the token is the owner's and the group's
				// only (0600, and group read from the ownership change).
				tm := def
				if fsGroup, _ := podFSGroup(pod); fsGroup != nil {
					tm = 0o600
				}
				files[src.ServiceAccountToken.Path] = File{Data: []byte(tok), Mode: tm}
			}
		default:
			err = errors.New("projected source not supported by this kubelet")
		}
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// token is the pod's service-account token, requested through
// TokenRequest bound to the pod and renewed once 80% of its life passed
// (or after 24 h), as upstream.
func (m *Manager) token(ctx context.Context, pod *corev1.Pod, volume string, src *corev1.ServiceAccountTokenProjection) (string, error) {
	key := string(pod.UID) + "/" + volume + "/" + src.Path
	m.mu.Lock()
	t, ok := m.tokens[key]
	m.mu.Unlock()
	now := time.Now()
	if ok {
		life := t.expires.Sub(t.issued)
		if now.Before(t.issued.Add(life*8/10)) && now.Before(t.issued.Add(24*time.Hour)) {
			return t.value, nil
		}
	}
	exp := ptr.Deref(src.ExpirationSeconds, 3600)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(exp),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	out, err := m.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to fetch token: %w", err)
	}
	t = token{value: out.Status.Token, issued: now, expires: out.Status.ExpirationTimestamp.Time}
	if !t.expires.After(now) {
		t.expires = now.Add(time.Duration(exp) * time.Second)
	}
	m.mu.Lock()
	m.tokens[key] = t
	m.mu.Unlock()
	return t.value, nil
}
