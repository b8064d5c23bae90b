package persistentvolumeclaim

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

func str(s string) *string { return &s }

func claim() *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "task-pv-claim", Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: str("manual"),
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi")},
			},
		},
	}
}

func TestDefaultAndPrepareForCreate(t *testing.T) {
	pvc := claim()
	pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "src"}
	Default(pvc)
	PrepareForCreate(pvc)
	if pvc.Spec.VolumeMode == nil || *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("volume mode = %v", pvc.Spec.VolumeMode)
	}
	if pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("phase = %q", pvc.Status.Phase)
	}
	if ref := pvc.Spec.DataSourceRef; ref == nil || ref.Kind != "PersistentVolumeClaim" || ref.Name != "src" {
		t.Errorf("dataSourceRef = %+v, want copied from dataSource", ref)
	}

	// An unsupported dataSource alone is dropped, as for old clients.
	pvc = claim()
	pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: str("example.com"), Kind: "Backup", Name: "b"}
	PrepareForCreate(pvc)
	if pvc.Spec.DataSource != nil || pvc.Spec.DataSourceRef != nil {
		t.Errorf("data source kept: %+v %+v", pvc.Spec.DataSource, pvc.Spec.DataSourceRef)
	}

	// Given through dataSourceRef, it is kept and mirrored.
	pvc = claim()
	pvc.Spec.DataSourceRef = &corev1.TypedObjectReference{APIGroup: str("example.com"), Kind: "Backup", Name: "b"}
	PrepareForCreate(pvc)
	if ds := pvc.Spec.DataSource; ds == nil || ds.Kind != "Backup" {
		t.Errorf("dataSource = %+v, want mirrored", ds)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(pvc *corev1.PersistentVolumeClaim)
		want   []string
	}{
		{"valid", func(*corev1.PersistentVolumeClaim) {}, nil},
		{"no access modes", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.AccessModes = nil }, []string{"FieldValueRequired spec.accessModes"}},
		{"bad access mode", func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"RWO"}
		}, []string{"FieldValueNotSupported spec.accessModes"}},
		{"no storage request", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.Resources.Requests = nil }, []string{"FieldValueRequired spec.resources[storage]"}},
		{"zero storage", func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		}, []string{"FieldValueInvalid spec.resources[storage]"}},
		{"bad class", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = str("Fast SSD") }, []string{"FieldValueInvalid spec.storageClassName"}},
		{"empty class", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = str("") }, nil},
		{"bad selector", func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}
		}, []string{"FieldValueInvalid spec.selector.matchExpressions[0].operator"}},
		{"data source without group", func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.DataSourceRef = &corev1.TypedObjectReference{Kind: "Backup", Name: "b"}
		}, []string{"FieldValueInvalid spec.dataSourceRef"}},
		{"data sources differ", func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "a"}
			pvc.Spec.DataSourceRef = &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "b"}
		}, []string{"FieldValueInvalid spec"}},
		{"bad volume mode", func(pvc *corev1.PersistentVolumeClaim) {
			m := corev1.PersistentVolumeMode("Raw")
			pvc.Spec.VolumeMode = &m
		}, []string{"FieldValueNotSupported spec.volumeMode"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pvc := claim()
			tc.mutate(pvc)
			if got := errKeys(Validate(pvc)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	bound := func(pvc *corev1.PersistentVolumeClaim) {
		pvc.Spec.VolumeName = "pv-1"
		pvc.Status.Phase = corev1.ClaimBound
		pvc.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi")}
	}
	for _, tc := range []struct {
		name   string
		old    func(pvc *corev1.PersistentVolumeClaim)
		mutate func(pvc *corev1.PersistentVolumeClaim)
		want   []string
	}{
		{"binding sets volumeName", nil, func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeName = "pv-1" }, nil},
		{"volumeName changes once bound", bound, func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeName = "pv-2" }, []string{"FieldValueForbidden spec"}},
		{"access modes", nil, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, []string{"FieldValueForbidden spec"}},
		{"grow bound claim", bound, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("10Gi")
		}, nil},
		{"grow unbound claim", nil, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("10Gi")
		}, []string{"FieldValueForbidden spec"}},
		{"shrink below capacity", bound, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1Gi")
		}, []string{"FieldValueForbidden spec.resources.requests.storage"}},
		{"shrink after failed expansion", func(pvc *corev1.PersistentVolumeClaim) {
			bound(pvc)
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("100Gi")
		}, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("5Gi")
		}, nil},
		{"class set from nil", func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = nil },
			func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = str("fast") }, nil},
		{"class changed", nil, func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = str("fast") }, []string{"FieldValueForbidden spec"}},
		{"class from annotation", func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Spec.StorageClassName = nil
			pvc.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "gold"}
		}, func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.StorageClassName = str("gold") }, nil},
		{"annotation changed", func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "manual"}
		}, func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Annotations[corev1.BetaStorageClassAnnotation] = "gold"
		}, []string{"FieldValueInvalid metadata.annotations.volume.beta.kubernetes.io/storage-class"}},
		{"volume mode", nil, func(pvc *corev1.PersistentVolumeClaim) {
			b := corev1.PersistentVolumeBlock
			pvc.Spec.VolumeMode = &b
		}, []string{"FieldValueForbidden spec", "FieldValueInvalid volumeMode"}},
		{"vac on bound claim", bound, func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeAttributesClassName = str("gold") }, nil},
		{"vac removed once applied", func(pvc *corev1.PersistentVolumeClaim) {
			bound(pvc)
			pvc.Spec.VolumeAttributesClassName = str("gold")
			pvc.Status.CurrentVolumeAttributesClassName = str("gold")
		}, func(pvc *corev1.PersistentVolumeClaim) { pvc.Spec.VolumeAttributesClassName = nil }, []string{"FieldValueForbidden spec.volumeAttributesClassName"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := claim()
			Default(old)
			if tc.old != nil {
				tc.old(old)
			}
			pvc := old.DeepCopy()
			tc.mutate(pvc)
			PrepareForUpdate(pvc, old)
			if got := errKeys(ValidateUpdate(pvc, old)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateStatus(t *testing.T) {
	pvc := claim()
	pvc.Status = corev1.PersistentVolumeClaimStatus{
		Phase:                     corev1.ClaimBound,
		Capacity:                  corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi")},
		AllocatedResources:        corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi"), corev1.ResourceCPU: resource.MustParse("1")},
		AllocatedResourceStatuses: map[corev1.ResourceName]corev1.ClaimResourceStatus{corev1.ResourceStorage: "Resizing"},
	}
	want := []string{"FieldValueNotSupported status.allocatedResourceStatuses", "FieldValueNotSupported status.allocatedResources"}
	if got := errKeys(ValidateStatus(pvc)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %v, want %v", got, want)
	}
	pvc.Spec.AccessModes = nil
	pvc.Status = corev1.PersistentVolumeClaimStatus{}
	if got := errKeys(ValidateStatus(pvc)); !reflect.DeepEqual(got, []string{"FieldValueRequired Spec.accessModes"}) {
		t.Errorf("errors = %v", got)
	}
}

func TestWarnings(t *testing.T) {
	pvc := claim()
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1.5")
	w := Warnings(pvc)
	if len(w) != 1 || !strings.HasPrefix(w[0], "spec.resources.requests[storage]: fractional byte value") {
		t.Errorf("warnings = %q", w)
	}
}

func TestTable(t *testing.T) {
	created := metav1.NewTime(time.Now().Add(-10 * time.Minute))
	pending := claim()
	Default(pending)
	pending.CreationTimestamp = created
	bound := pending.DeepCopy()
	bound.Spec.VolumeName = "task-pv-volume"
	bound.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}
	for _, tc := range []struct {
		pvc  *corev1.PersistentVolumeClaim
		want []interface{}
	}{
		{pending, []interface{}{"task-pv-claim", "Pending", "", "", "", "manual", "<unset>", "10m", "Filesystem"}},
		{bound, []interface{}{"task-pv-claim", "Bound", "task-pv-volume", "10Gi", "RWO", "manual", "<unset>", "10m", "Filesystem"}},
	} {
		row, err := Resource().Table.Row(tc.pvc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(row, tc.want) {
			t.Errorf("row = %q\nwant  %q", row, tc.want)
		}
	}
}
