package persistentvolume

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func hostPathPV() *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "task-pv-volume"},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName: "manual",
			Capacity:         corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/mnt/data"},
			},
		},
	}
}

func nodeAffinity(key string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: []string{"node-1"}}},
	}}}}
}

func TestDefault(t *testing.T) {
	pv := hostPathPV()
	Default(pv)
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("reclaim policy = %q", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	if pv.Spec.VolumeMode == nil || *pv.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("volume mode = %v", pv.Spec.VolumeMode)
	}
	if pv.Spec.HostPath.Type == nil || *pv.Spec.HostPath.Type != corev1.HostPathUnset {
		t.Errorf("hostPath type = %v", pv.Spec.HostPath.Type)
	}
	now := metav1.NewTime(time.Unix(1000, 0))
	PrepareForCreate(pv, now)
	if pv.Status.Phase != corev1.VolumePending || pv.Status.LastPhaseTransitionTime == nil || !pv.Status.LastPhaseTransitionTime.Equal(&now) {
		t.Errorf("status = %+v", pv.Status)
	}
}

func TestPrepareForStatusUpdate(t *testing.T) {
	t0, t1 := metav1.NewTime(time.Unix(1000, 0)), metav1.NewTime(time.Unix(2000, 0))
	old := &corev1.PersistentVolume{Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable, LastPhaseTransitionTime: &t0}}

	same := &corev1.PersistentVolume{Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable}}
	PrepareForStatusUpdate(same, old, t1)
	if !same.Status.LastPhaseTransitionTime.Equal(&t0) {
		t.Errorf("same phase: time = %v, want carried over", same.Status.LastPhaseTransitionTime)
	}
	changed := &corev1.PersistentVolume{Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, LastPhaseTransitionTime: &t0}}
	PrepareForStatusUpdate(changed, old, t1)
	if !changed.Status.LastPhaseTransitionTime.Equal(&t1) {
		t.Errorf("new phase: time = %v, want now", changed.Status.LastPhaseTransitionTime)
	}
}

func TestValidate(t *testing.T) {
	recycle := corev1.PersistentVolumeReclaimRecycle
	for _, tc := range []struct {
		name   string
		mutate func(pv *corev1.PersistentVolume)
		want   []string
	}{
		{"hostPath", func(*corev1.PersistentVolume) {}, nil},
		{"nfs", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = nil
			pv.Spec.NFS = &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/exports"}
			pv.Annotations = map[string]string{mountOptionsAnnotation: "hard"}
		}, nil},
		{"csi", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = nil
			pv.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-1", NodePublishSecretRef: &corev1.SecretReference{Name: "creds"}}
		}, []string{"FieldValueRequired spec.csi.nodePublishSecretRef.namespace"}},
		{"local with affinity", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = nil
			pv.Spec.Local = &corev1.LocalVolumeSource{Path: "/mnt/disks/ssd1"}
			pv.Spec.NodeAffinity = nodeAffinity("kubernetes.io/hostname")
		}, nil},
		{"local without affinity", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = nil
			pv.Spec.Local = &corev1.LocalVolumeSource{Path: "/mnt/../etc"}
		}, []string{"FieldValueInvalid spec.local.path", "FieldValueRequired spec.nodeAffinity"}},
		{"no access modes", func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = nil }, []string{"FieldValueRequired spec.accessModes"}},
		{"bad access mode", func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadWriteSometimes"}
		}, []string{"FieldValueNotSupported spec.accessModes"}},
		{"rwop with others", func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce}
		}, []string{"FieldValueForbidden spec.accessModes"}},
		{"no capacity", func(pv *corev1.PersistentVolume) { pv.Spec.Capacity = nil }, []string{"FieldValueRequired spec.capacity", "FieldValueNotSupported spec.capacity"}},
		{"zero capacity", func(pv *corev1.PersistentVolume) {
			pv.Spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("0")}
		}, []string{"FieldValueInvalid spec.capacity[storage]"}},
		{"extra capacity", func(pv *corev1.PersistentVolume) {
			pv.Spec.Capacity[corev1.ResourceCPU] = resource.MustParse("1")
		}, []string{"FieldValueNotSupported spec.capacity"}},
		{"no source", func(pv *corev1.PersistentVolume) { pv.Spec.HostPath = nil }, []string{"FieldValueRequired spec"}},
		{"two sources", func(pv *corev1.PersistentVolume) {
			pv.Spec.NFS = &corev1.NFSVolumeSource{Server: "s", Path: "/x"}
		}, []string{"FieldValueForbidden spec.nfs"}},
		{"hostPath without path", func(pv *corev1.PersistentVolume) { pv.Spec.HostPath.Path = "" }, []string{"FieldValueRequired spec.hostPath.path"}},
		{"hostPath bad type", func(pv *corev1.PersistentVolume) {
			bad := corev1.HostPathType("Pipe")
			pv.Spec.HostPath.Type = &bad
		}, []string{"FieldValueNotSupported spec.hostPath.type"}},
		{"recycle root", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath.Path = "/"
			pv.Spec.PersistentVolumeReclaimPolicy = recycle
		}, []string{"FieldValueForbidden spec.persistentVolumeReclaimPolicy"}},
		{"bad reclaim policy", func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = "Keep" }, []string{"FieldValueNotSupported spec.persistentVolumeReclaimPolicy"}},
		{"bad class", func(pv *corev1.PersistentVolume) { pv.Spec.StorageClassName = "Fast_SSD" }, []string{"FieldValueInvalid spec.storageClassName"}},
		{"bad volume mode", func(pv *corev1.PersistentVolume) {
			m := corev1.PersistentVolumeMode("Raw")
			pv.Spec.VolumeMode = &m
		}, []string{"FieldValueNotSupported spec.volumeMode"}},
		{"affinity without required", func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{} }, []string{"FieldValueRequired spec.nodeAffinity.required"}},
		{"vac without csi", func(pv *corev1.PersistentVolume) {
			vac := "gold"
			pv.Spec.VolumeAttributesClassName = &vac
		}, []string{"FieldValueRequired spec.csi"}},
		{"mount options on hostPath", func(pv *corev1.PersistentVolume) {
			pv.Annotations = map[string]string{mountOptionsAnnotation: "ro"}
		}, []string{"FieldValueForbidden metadata.annotations.volume.beta.kubernetes.io/mount-options"}},
		{"iscsi", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = nil
			pv.Spec.ISCSI = &corev1.ISCSIPersistentVolumeSource{TargetPortal: "10.0.0.1:3260", IQN: "iqn.2001-04.com.example:storage.disk1", Lun: 300}
		}, []string{"FieldValueInvalid spec.iscsi.lun"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pv := hostPathPV()
			tc.mutate(pv)
			Default(pv)
			if got := errKeys(Validate(pv)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := hostPathPV()
	Default(old)
	for _, tc := range []struct {
		name   string
		old    func(pv *corev1.PersistentVolume)
		mutate func(pv *corev1.PersistentVolume)
		want   []string
	}{
		{"claim and capacity", nil, func(pv *corev1.PersistentVolume) {
			pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "task-pv-claim"}
			pv.Spec.Capacity[corev1.ResourceStorage] = resource.MustParse("20Gi")
		}, nil},
		{"source", nil, func(pv *corev1.PersistentVolume) { pv.Spec.HostPath.Path = "/mnt/other" }, []string{"FieldValueForbidden spec.persistentvolumesource"}},
		{"volume mode", nil, func(pv *corev1.PersistentVolume) {
			b := corev1.PersistentVolumeBlock
			pv.Spec.VolumeMode = &b
		}, []string{"FieldValueInvalid volumeMode"}},
		{"node affinity", func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = nodeAffinity("kubernetes.io/hostname") },
			func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = nodeAffinity("example.com/rack") }, []string{"FieldValueInvalid nodeAffinity"}},
		{"node affinity beta to GA", func(pv *corev1.PersistentVolume) {
			pv.Spec.NodeAffinity = nodeAffinity(corev1.LabelFailureDomainBetaZone)
		},
			func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = nodeAffinity(corev1.LabelTopologyZone) }, nil},
		{"csi expand secret added", func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = nil
			pv.Spec.CSI = &corev1.CSIPersistentVolumeSource{Driver: "d.example.com", VolumeHandle: "h"}
		}, func(pv *corev1.PersistentVolume) {
			pv.Spec.CSI.ControllerExpandSecretRef = &corev1.SecretReference{Name: "s", Namespace: "kube-system"}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := old.DeepCopy()
			if tc.old != nil {
				tc.old(o)
			}
			pv := o.DeepCopy()
			tc.mutate(pv)
			errs := ValidateUpdate(pv, o)
			if got := errKeys(errs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	pv := hostPathPV()
	pv.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "manual"}
	pv.Spec.NodeAffinity = nodeAffinity(corev1.LabelFailureDomainBetaZone)
	w := Warnings(pv)
	if len(w) != 2 || !strings.Contains(w[1], "spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].key") {
		t.Errorf("warnings = %q", w)
	}
}

func TestTable(t *testing.T) {
	pv := hostPathPV()
	Default(pv)
	pv.CreationTimestamp = metav1.NewTime(time.Now().Add(-4 * time.Minute))
	pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce}
	pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "task-pv-claim"}
	pv.Status.Phase = corev1.VolumeBound
	row, err := Resource().Table.Row(pv)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"task-pv-volume", "10Gi", "RWO,RWX", "Retain", "Bound", "default/task-pv-claim", "manual", "<unset>", "", "4m", "Filesystem"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row = %q\nwant  %q", row, want)
	}
	if n := len(Resource().Table.Columns); n != len(row) {
		t.Errorf("%d columns, %d cells", n, len(row))
	}
}
