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

// ensureImage makes the images of the container's image volumes, then
// its own image, present by their pull policies and returns the
// runtime's reference to its image; "" when one is not there (the
// container's waiting reason then says why).
func (w *worker) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) string {
	if !w.pullImageVolumes(ctx, pod, c) {
		return ""
	}
	ref, reason, msg := w.ensurePulled(ctx, pod, c.Image, c.ImagePullPolicy)
	if ref == "" {
		w.setWaiting(c.Name, reason, msg)
	}
	return ref
}

// ensurePulled makes image present by policy (defaulted as upstream
// when empty), with upstream's events, and returns the runtime's
// reference to it; or "" with the waiting reason and message
// (ErrImageNeverPull, ErrImagePull, ImagePullBackOff), after a Failed
// event "Error: <reason>" as upstream's container start sends. A
// container's image and an image volume's go through it alike.
func (w *worker) ensurePulled(ctx context.Context, pod *corev1.Pod, image string, policy corev1.PullPolicy) (string, string, string) {
	ref, reason, msg := w.pullByPolicy(ctx, pod, image, policy)
	if ref == "" {
		w.k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Error: %s", reason)
	}
	return ref, reason, msg
}

// pullByPolicy is ensurePulled but for the closing event.
func (w *worker) pullByPolicy(ctx context.Context, pod *corev1.Pod, image string, policy corev1.PullPolicy) (string, string, string) {
	k := w.k
	if policy == "" {
		policy = corev1.PullIfNotPresent
		if !strings.Contains(image, "@") && (strings.HasSuffix(image, ":latest") || !hasTag(image)) {
			policy = corev1.PullAlways
		}
	}
	spec := &runtimeapi.ImageSpec{Image: image, UserSpecifiedImage: image}
	present := ""
	if st, err := k.rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec}); err == nil && st.Image != nil {
		present = st.Image.Id
	}
	switch {
	case policy == corev1.PullNever && present == "":
		msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", image)
		k.recorder.Event(pod, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
		return "", "ErrImageNeverPull", msg
	case present != "" && policy != corev1.PullAlways:
		k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", image)
		return present, "", ""
	}
	if ps, ok := w.pulls[image]; ok && time.Now().Before(ps.until) {
		k.recorder.Eventf(pod, corev1.EventTypeNormal, "BackOff", "Back-off pulling image %q", image)
		return "", "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", image, ps.err)
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulling", "Pulling image %q", image)
	start := time.Now()
	ref, err := w.pull(ctx, pod, spec)
	if err != nil {
		ps := w.pulls[image]
		ps.delay = nextBackoff(ps.delay)
		ps.until = time.Now().Add(ps.delay)
		ps.err = err.Error()
		w.pulls[image] = ps
		k.recorder.Eventf(pod, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %v", image, err)
		return "", "ErrImagePull", err.Error()
	}
	delete(w.pulls, image)
	took := time.Since(start).Round(time.Millisecond)
	var size uint64
	if st, err := k.rt.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: spec}); err == nil && st.Image != nil {
		size = st.Image.Size
	}
	k.recorder.Eventf(pod, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %v (%v including waiting). Image size: %d bytes.", image, took, took, size)
	return ref, "", ""
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
