package volume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
}

type token struct {
	value           string
	issued, expires time.Time
}

// New makes a manager of the pod directories under root.
func New(root string, client kubernetes.Interface, log *slog.Logger) *Manager {
	return &Manager{root: root, client: client, log: log, tokens: map[string]token{}}
}

// PodDir is where a pod's volumes and files live.
func (m *Manager) PodDir(uid types.UID) string { return filepath.Join(m.root, string(uid)) }

// Error is a volume that could not be set up (upstream's FailedMount).
type Error struct {
	Volume string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.Volume, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// Env is what the downward API of a volume may show.
type Env struct {
	PodIPs, HostIPs []string
	Allocatable     corev1.ResourceList
}

// SetUp makes (or refreshes) every volume of pod and returns each one's
// host path by name. The first volume that fails is an *Error.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod, env Env) (map[string]string, error) {
	out := map[string]string{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		p, err := m.setUp(ctx, pod, v, env)
		if err != nil {
			return out, &Error{Volume: v.Name, Err: err}
		}
		out[v.Name] = p
	}
	return out, nil
}

func (m *Manager) dir(pod *corev1.Pod, plugin, name string) string {
	return filepath.Join(m.PodDir(pod.UID), "volumes", plugin, name)
}

func (m *Manager) setUp(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, env Env) (string, error) {
	switch {
	case v.EmptyDir != nil:
		return emptyDir(m.dir(pod, "kubernetes.io~empty-dir", v.Name), v.EmptyDir)
	case v.HostPath != nil:
		return hostPath(v.HostPath)
	case v.ConfigMap != nil:
		dir := m.dir(pod, "kubernetes.io~configmap", v.Name)
		files, err := m.configMapFiles(ctx, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode(v.ConfigMap.DefaultMode))
		if err != nil {
			return "", err
		}
		return dir, writeAtomic(dir, files)
	case v.Secret != nil:
		dir := m.dir(pod, "kubernetes.io~secret", v.Name)
		files, err := m.secretFiles(ctx, pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode(v.Secret.DefaultMode))
		if err != nil {
			return "", err
		}
		return dir, writeAtomic(dir, files)
	case v.DownwardAPI != nil:
		dir := m.dir(pod, "kubernetes.io~downward-api", v.Name)
		files, err := downwardFiles(pod, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode), env)
		if err != nil {
			return "", err
		}
		return dir, writeAtomic(dir, files)
	case v.Projected != nil:
		dir := m.dir(pod, "kubernetes.io~projected", v.Name)
		files, err := m.projectedFiles(ctx, pod, v, env)
		if err != nil {
			return "", err
		}
		return dir, writeAtomic(dir, files)
	}
	return "", errors.New("volume type not supported by this kubelet")
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
				files[src.ServiceAccountToken.Path] = File{Data: []byte(tok), Mode: def}
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

// TearDown unmounts and removes everything of the pod.
func (m *Manager) TearDown(uid types.UID) error {
	m.mu.Lock()
	for k := range m.tokens {
		if len(k) > len(uid) && k[:len(uid)] == string(uid) && k[len(uid)] == '/' {
			delete(m.tokens, k)
		}
	}
	m.mu.Unlock()
	dir := m.PodDir(uid)
	empty := filepath.Join(dir, "volumes", "kubernetes.io~empty-dir")
	ents, _ := os.ReadDir(empty)
	for _, e := range ents {
		if err := unmountTmpfs(filepath.Join(empty, e.Name())); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove pod dir %s: %w", dir, err)
	}
	return nil
}
