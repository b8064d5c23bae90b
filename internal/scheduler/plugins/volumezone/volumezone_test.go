package volumezone

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kemudi/kemudi/internal/scheduler/plugins/volumebinding"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	claims := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	volumes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, c := range []*corev1.PersistentVolumeClaim{
		{ObjectMeta: metav1.ObjectMeta{Name: "zonal", Namespace: "default"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-a"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "multi", Namespace: "default"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-ab"}},
	} {
		_ = claims.Add(c)
	}
	_ = volumes.Add(&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-a", Labels: map[string]string{corev1.LabelTopologyZone: "a"}}})
	_ = volumes.Add(&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-ab", Labels: map[string]string{corev1.LabelFailureDomainBetaZone: "a__b"}}})
	pl := New(volumebinding.Listers{Claims: corelisters.NewPersistentVolumeClaimLister(claims), Volumes: corelisters.NewPersistentVolumeLister(volumes)})
	nodes := []*corev1.Node{st.Node("a", st.Zone("a")), st.Node("b", st.Zone("b")), st.Node("c", st.Zone("c")), st.Node("nozone")}
	uses := func(c string) st.PodOpt {
		return func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}}}
		}
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		pass map[string]bool
	}{
		{"no volumes", st.Pod("p"), map[string]bool{"a": true, "b": true, "c": true, "nozone": true}},
		{"a zonal volume", st.Pod("p", uses("zonal")), map[string]bool{"a": true, "nozone": true}},
		{"a volume in two zones, by the beta label", st.Pod("p", uses("multi")), map[string]bool{"a": true, "b": true, "nozone": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, s := range st.Filter(pl, tt.pod, nil, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && s.Message() != ErrReasonConflict {
					t.Errorf("%s: reason %q", n, s.Message())
				}
			}
		})
	}
}
