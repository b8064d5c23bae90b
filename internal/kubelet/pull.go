package kubelet

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Upstream's image pull back-off: 10 s doubling to 5 min.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
)

func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return backoffInitial
	}
	return min(2*d, backoffMax)
}

type pullState struct {
	delay time.Duration
	until time.Time
	err   string
}

// ensureImage makes the container's image present by its pull policy
// and returns the runtime's reference to it; "" when it is not there
// (the container's waiting reason then says why).
func (w *worker) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) string {
	k := w.k
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = corev1.PullIfNotPresent
		if !strings.Contains(c.Image, "@") && (strings.HasSuffix(c.Image, ":latest") || !hasTag(c.Image)) {
			policy = corev1.PullAlways
		}
	}
	spec := &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image}
	present := ""
	if st, err := k.rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec}); err == nil && st.Image != nil {
		present = st.Image.Id
	}
	switch {
	case policy == corev1.PullNever && present == "":
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		w.setWaiting(c.Name, "ErrImageNeverPull", msg)
		k.recorder.Event(pod, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
		return ""
	case present != "" && policy != corev1.PullAlways:
		k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", c.Image)
		return present
	}
	if ps, ok := w.pulls[c.Image]; ok && time.Now().Before(ps.until) {
		w.setWaiting(c.Name, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", c.Image, ps.err))
		k.recorder.Eventf(pod, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", c.Image)
		return ""
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulling", "Pulling image %q", c.Image)
	start := time.Now()
	ref, err := w.pull(ctx, pod, spec)
	if err != nil {
		ps := w.pulls[c.Image]
		ps.delay = nextBackoff(ps.delay)
		ps.until = time.Now().Add(ps.delay)
		ps.err = err.Error()
		w.pulls[c.Image] = ps
		w.setWaiting(c.Name, "ErrImagePull", err.Error())
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", c.Image, err)
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", "ErrImagePull")
		return ""
	}
	delete(w.pulls, c.Image)
	took := time.Since(start).Round(time.Millisecond)
	var size uint64
	if st, err := k.rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec}); err == nil && st.Image != nil {
		size = st.Image.Size
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", c.Image, took, took, size)
	return ref
}

func hasTag(image string) bool {
	i := strings.LastIndex(image, ":")
	return i > strings.LastIndex(image, "/")
}

// pull tries the pod's pull secrets that match the image's registry,
// then no credentials.
func (w *worker) pull(ctx context.Context, pod *corev1.Pod, spec *runtimeapi.ImageSpec) (string, error) {
	auths := w.pullAuths(ctx, pod, spec.Image)
	var lastErr error
	for _, a := range append(auths, nil) {
		resp, err := w.k.rt.PullImage(ctx, &runtimeapi.PullImageRequest{Image: spec, Auth: a})
		if err == nil {
			return resp.ImageRef, nil
		}
		lastErr = err
	}
	return "", lastErr
}

type dockerConfig struct {
	Auths map[string]struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Auth     string `json:"auth"`
	} `json:"auths"`
}

// pullAuths are the credentials of the pod's imagePullSecrets for the
// image's registry.
func (w *worker) pullAuths(ctx context.Context, pod *corev1.Pod, image string) []*runtimeapi.AuthConfig {
	ref, err := name.ParseReference(image)
	if err != nil {
		return nil
	}
	registry := normalizeRegistry(ref.Context().RegistryStr())
	var out []*runtimeapi.AuthConfig
	for _, ps := range pod.Spec.ImagePullSecrets {
		s, err := w.k.secret(ctx, pod.Namespace, ps.Name)
		if err != nil {
			continue
		}
		var cfg dockerConfig
		if b, ok := s.Data[corev1.DockerConfigJsonKey]; ok {
			_ = json.Unmarshal(b, &cfg)
		} else if b, ok := s.Data[corev1.DockerConfigKey]; ok {
			_ = json.Unmarshal(b, &cfg.Auths)
		}
		for host, a := range cfg.Auths {
			if normalizeRegistry(host) != registry {
				continue
			}
			user, pass := a.Username, a.Password
			if a.Auth != "" && user == "" {
				if dec, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
					user, pass, _ = strings.Cut(string(dec), ":")
				}
			}
			out = append(out, &runtimeapi.AuthConfig{Username: user, Password: pass, Auth: a.Auth, ServerAddress: host})
		}
	}
	return out
}

// normalizeRegistry reduces "https://index.docker.io/v1/" and friends to a host.
func normalizeRegistry(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "index.docker.io"
	}
	return h
}
