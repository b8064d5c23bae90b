package builtin

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kemudi/kemudi/internal/auth"
)

func TestServiceAccount(t *testing.T) {
	no := false
	accounts := []*corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "team"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "team"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "quiet", Namespace: "team"}, AutomountServiceAccountToken: &no},
	}
	pod := func(namespace, account string, mutate ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: namespace},
			Spec: corev1.PodSpec{
				ServiceAccountName: account,
				InitContainers:     []corev1.Container{{Name: "init"}},
				Containers:         []corev1.Container{{Name: "app"}},
			},
		}
		for _, m := range mutate {
			m(p)
		}
		return p
	}
	tests := []struct {
		name        string
		pod         *corev1.Pod
		op          string
		wantAccount string
		wantMounted bool
		wantPull    []string
		wantErr     string
	}{{
		name: "the default account, its credentials mounted in every container",
		pod:  pod("team", ""), op: auth.Create, wantAccount: "default", wantMounted: true,
	}, {
		name: "a named account lends its image pull secrets",
		pod:  pod("team", "builder"), op: auth.Create, wantAccount: "builder", wantMounted: true, wantPull: []string{"registry"},
	}, {
		name: "the account opts out of the token",
		pod:  pod("team", "quiet"), op: auth.Create, wantAccount: "quiet",
	}, {
		name: "the pod opts out of the token",
		pod:  pod("team", "", func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = &no }), op: auth.Create, wantAccount: "default",
	}, {
		name: "an account that does not exist",
		pod:  pod("team", "ghost"), op: auth.Create,
		wantErr: `pods "p" is forbidden: error looking up service account team/ghost: serviceaccount "ghost" not found`,
	}, {
		name: "a namespace whose default account is not made yet",
		pod:  pod("new", ""), op: auth.Create, wantAccount: "default",
	}, {
		name: "a mirror pod is left alone",
		pod:  pod("team", "", func(p *corev1.Pod) { p.Annotations = map[string]string{mirrorPodAnnotation: "x"} }), op: auth.Create,
	}, {
		name: "updates are left alone",
		pod:  pod("team", ""), op: auth.Update,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ServiceAccount{ServiceAccounts: &objects[*corev1.ServiceAccount]{items: accounts}}
			r := &auth.AdmissionRequest{Operation: tt.op, Resource: "pods", Namespace: tt.pod.Namespace, Name: "p", Namespaced: true, Object: tt.pod}
			err := p.Mutate(context.Background(), r)
			if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if tt.pod.Spec.ServiceAccountName != tt.wantAccount {
				t.Errorf("account %q, want %q", tt.pod.Spec.ServiceAccountName, tt.wantAccount)
			}
			var pull []string
			for _, s := range tt.pod.Spec.ImagePullSecrets {
				pull = append(pull, s.Name)
			}
			if !slices.Equal(pull, tt.wantPull) {
				t.Errorf("image pull secrets %v, want %v", pull, tt.wantPull)
			}
			volume := ""
			for _, v := range tt.pod.Spec.Volumes {
				if strings.HasPrefix(v.Name, serviceAccountVolumePrefix) && v.Projected != nil && len(v.Projected.Sources) == 3 {
					volume = v.Name
				}
			}
			if (volume != "") != tt.wantMounted {
				t.Fatalf("volumes %+v, want the token volume: %v", tt.pod.Spec.Volumes, tt.wantMounted)
			}
			for _, c := range append(tt.pod.Spec.InitContainers, tt.pod.Spec.Containers...) {
				mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
					return m.Name == volume && m.MountPath == serviceAccountMountPath && m.ReadOnly
				})
				if mounted != tt.wantMounted {
					t.Errorf("container %s: mounts %+v, want the token: %v", c.Name, c.VolumeMounts, tt.wantMounted)
				}
			}
		})
	}
}
