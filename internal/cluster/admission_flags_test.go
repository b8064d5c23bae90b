package cluster_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/cluster"
	"github.com/kemudi/kemudi/internal/cluster/clustertest"
)

// TestAdmissionPluginsDisabled: --disable-admission-plugins=LimitRanger
// leaves a namespace's LimitRange out of a new pod, while the other
// plugins still run; by default it applies.
func TestAdmissionPluginsDisabled(t *testing.T) {
	tests := []struct {
		name        string
		disable     []string
		wantDefault bool
	}{
		{name: "default", wantDefault: true},
		{name: "LimitRanger disabled", disable: []string{"LimitRanger"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := clustertest.Start(t, func(o *cluster.ServerOptions) { o.DisableAdmissionPlugins = tt.disable })
			ctx := context.Background()
			c := s.Client
			_, err := c.CoreV1().LimitRanges("default").Create(ctx, &corev1.LimitRange{
				ObjectMeta: metav1.ObjectMeta{Name: "cpu"},
				Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
					Type:    corev1.LimitTypeContainer,
					Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
				}}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pod, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			limit, limited := pod.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU]
			_, noted := pod.Annotations["kubernetes.io/limit-ranger"]
			if limited != tt.wantDefault || noted != tt.wantDefault || limited && limit.String() != "250m" {
				t.Errorf("cpu limit %v (set: %v), limit-ranger annotation: %v; want the LimitRange's default: %v", limit.String(), limited, noted, tt.wantDefault)
			}
			// DefaultTolerationSeconds still runs.
			if len(pod.Spec.Tolerations) != 2 {
				t.Errorf("tolerations %+v, want DefaultTolerationSeconds' two", pod.Spec.Tolerations)
			}
		})
	}
}

// TestAdmissionPluginsUnknown: a plugin name upstream does not know is
// refused with its message before the server makes anything.
func TestAdmissionPluginsUnknown(t *testing.T) {
	tests := []struct {
		name            string
		enable, disable []string
		want            string
	}{
		{name: "enable", enable: []string{"NamespaceLifecycle", "LimitRangers"}, want: `enable-admission-plugins plugin "LimitRangers" is unknown`},
		{name: "disable", disable: []string{"Foo"}, want: `disable-admission-plugins plugin "Foo" is unknown`},
		{name: "upstream's, not kemudi's", enable: []string{"AlwaysPullImages"}, want: `enable-admission-plugins plugin "AlwaysPullImages" is not implemented by kemudi`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := cluster.DefaultServerOptions()
			opts.DataDir = filepath.Join(t.TempDir(), "data")
			opts.BindAddress, opts.Port = "127.0.0.1", 0
			opts.Log = slog.New(slog.DiscardHandler)
			opts.EnableAdmissionPlugins, opts.DisableAdmissionPlugins = tt.enable, tt.disable
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := cluster.StartServer(ctx, opts)
			if err == nil {
				s.Stop()
				t.Fatal("the server started")
			}
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if _, err := os.Stat(opts.DataDir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("data dir: %v, want none made", err)
			}
		})
	}
}
