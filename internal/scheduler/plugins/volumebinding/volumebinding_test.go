package volumebinding

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

// Fixture returns listers over the given claims, volumes and classes.
func Fixture(t *testing.T, objs ...any) Listers {
	t.Helper()
	claims := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	volumes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	classes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.PersistentVolumeClaim:
			err = claims.Add(o)
		case *corev1.PersistentVolume:
			err = volumes.Add(o)
		case *storagev1.StorageClass:
			err = classes.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return Listers{
		Claims:  corelisters.NewPersistentVolumeClaimLister(claims),
		Volumes: corelisters.NewPersistentVolumeLister(volumes),
		Classes: storagelisters.NewStorageClassLister(classes),
	}
}

func claim(name, volume, class string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	c.Spec.VolumeName = volume
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	return c
}

// localPV is a volume on one node, as local volumes are.
func localPV(name, node string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}},
			}}},
		}}},
	}
}

func uses(claims ...string) st.PodOpt {
	return func(p *corev1.Pod) {
		for _, c := range claims {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c},
			}})
		}
	}
}

func TestFilter(t *testing.T) {
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	l := Fixture(t,
		claim("data", "pv-data", ""), localPV("pv-data", "n2"),
		claim("pending", "", ""),
		claim("later", "", "local"), &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local"}, VolumeBindingMode: &wait},
		claim("lost", "pv-gone", ""),
	)
	nodes := []*corev1.Node{st.Node("n1"), st.Node("n2")}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		pass   map[string]bool
		reason string
	}{
		{"no claims", st.Pod("p"), map[string]bool{"n1": true, "n2": true}, ""},
		{"a claim bound to a local volume pins the pod", st.Pod("p", uses("data")), map[string]bool{"n2": true}, ErrReasonNodeConflict},
		{"a missing claim", st.Pod("p", uses("nope")), nil, `persistentvolumeclaim "nope" not found`},
		{"an unbound immediate claim", st.Pod("p", uses("pending")), nil, errReasonUnboundClaims},
		{"an unbound delayed claim", st.Pod("p", uses("later")), nil, errReasonDelayedBinding},
		{"a claim bound to a missing volume", st.Pod("p", uses("lost")), nil, `persistentvolume "pv-gone" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for n, s := range st.Filter(New(l), tt.pod, nil, nodes) {
				if s.IsSuccess() != tt.pass[n] {
					t.Errorf("%s: %v", n, s)
				}
				if !s.IsSuccess() && s.Message() != tt.reason {
					t.Errorf("%s: reason %q, want %q", n, s.Message(), tt.reason)
				}
			}
		})
	}
}
