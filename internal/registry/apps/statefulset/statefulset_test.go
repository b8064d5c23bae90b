package statefulset

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	. "github.com/kemudi/kemudi/internal/registry/apps/workload/workloadtest"
)

var webLabels = map[string]string{"app": "nginx"}

// newStatefulSet is the "web" example of the StatefulSet tutorial: a
// headless service, and a claim template mounted by the container.
func newStatefulSet() *appsv1.StatefulSet {
	t := PodTemplate(webLabels, corev1.RestartPolicyAlways)
	t.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}}
	ss := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "nginx",
			Replicas:    new(int32(3)),
			Selector:    &metav1.LabelSelector{MatchLabels: webLabels},
			Template:    t,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: resource.MustParse("1Gi"),
					}},
				},
			}},
		},
	}
	Default(ss)
	return ss
}

func TestDefault(t *testing.T) {
	ss := newStatefulSet()
	spec := ss.Spec
	if spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement {
		t.Errorf("podManagementPolicy %q", spec.PodManagementPolicy)
	}
	ru := spec.UpdateStrategy.RollingUpdate
	if spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType || ru == nil || *ru.Partition != 0 || ru.MaxUnavailable.String() != "1" {
		t.Errorf("updateStrategy %+v", spec.UpdateStrategy)
	}
	p := spec.PersistentVolumeClaimRetentionPolicy
	if p.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType || p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("retention policy %+v", p)
	}
	if *spec.Replicas != 3 || *spec.RevisionHistoryLimit != 10 {
		t.Errorf("replicas %d revisionHistoryLimit %d", *spec.Replicas, *spec.RevisionHistoryLimit)
	}
	pvc := spec.VolumeClaimTemplates[0]
	if pvc.APIVersion != "" || pvc.Kind != "" || pvc.Status.Phase != corev1.ClaimPending || *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("claim template defaulted to %+v", pvc)
	}

	empty := &appsv1.StatefulSet{}
	Default(empty)
	if *empty.Spec.Replicas != 1 {
		t.Errorf("replicas %d, want 1", *empty.Spec.Replicas)
	}
	onDelete := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}}}
	Default(onDelete)
	if onDelete.Spec.UpdateStrategy.RollingUpdate != nil {
		t.Errorf("OnDelete got a rollingUpdate")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(ss *appsv1.StatefulSet)
		want   []Err
	}{
		{"valid", func(ss *appsv1.StatefulSet) {}, nil},
		{"no service name", func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "" }, nil},
		{"hostname is the controller's", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.Hostname = "Not_A_Label" }, nil},
		{"Parallel OnDelete", func(ss *appsv1.StatefulSet) {
			ss.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
			ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		}, nil},
		{"mount without its claim template", func(ss *appsv1.StatefulSet) { ss.Spec.VolumeClaimTemplates = nil },
			[]Err{NotFound("spec.template.spec.containers[0].volumeMounts[0].name")}},
		{"bad service name", func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "Nginx.svc" }, []Err{Invalid("spec.serviceName")}},
		{"bad podManagementPolicy", func(ss *appsv1.StatefulSet) { ss.Spec.PodManagementPolicy = "Random" }, []Err{Invalid("spec.podManagementPolicy")}},
		{"no podManagementPolicy", func(ss *appsv1.StatefulSet) { ss.Spec.PodManagementPolicy = "" }, []Err{Required("spec.podManagementPolicy")}},
		{"bad strategy", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = "Recreate" }, []Err{Invalid("spec.updateStrategy")}},
		{"OnDelete with rollingUpdate", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType },
			[]Err{Invalid("spec.updateStrategy.rollingUpdate")}},
		{"negative partition", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.RollingUpdate.Partition = new(int32(-1)) },
			[]Err{Invalid("spec.updateStrategy.rollingUpdate.partition")}},
		{"maxUnavailable 0", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = new(intstr.FromInt32(0))
		},
			[]Err{Invalid("spec.updateStrategy.rollingUpdate.maxUnavailable")}},
		{"maxUnavailable 101%", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = new(intstr.FromString("101%"))
		}, []Err{Invalid("spec.updateStrategy.rollingUpdate.maxUnavailable")}},
		{"bad retention", func(ss *appsv1.StatefulSet) { ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = "Keep" },
			[]Err{NotSupported("spec.persistentVolumeClaimRetentionPolicy.whenScaled")}},
		{"negative replicas", func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = new(int32(-1)) }, []Err{Invalid("spec.replicas")}},
		{"negative ordinal start", func(ss *appsv1.StatefulSet) { ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1} },
			[]Err{Invalid("spec.ordinals.start")}},
		{"no selector", func(ss *appsv1.StatefulSet) { ss.Spec.Selector = nil },
			[]Err{Required("spec.selector"), Invalid("spec.template.metadata.labels")}},
		{"empty selector", func(ss *appsv1.StatefulSet) { ss.Spec.Selector = &metav1.LabelSelector{} }, []Err{Invalid("spec.selector")}},
		{"mismatch", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Labels = map[string]string{"app": "apache"} },
			[]Err{Invalid("spec.template.metadata.labels")}},
		{"restartPolicy", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			[]Err{NotSupported("spec.template.spec.restartPolicy")}},
		{"activeDeadlineSeconds", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64(1)) },
			[]Err{Forbidden("spec.template.spec.activeDeadlineSeconds")}},
		{"claim without access modes or storage", func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil
			ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests = nil
		}, []Err{Required("spec.volumeClaimTemplates[0].spec.accessModes"), Required("spec.volumeClaimTemplates[0].spec.resources[storage]")}},
		{"claim with zero storage and bad modes", func(ss *appsv1.StatefulSet) {
			c := &ss.Spec.VolumeClaimTemplates[0].Spec
			c.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
			c.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce, "WriteSometimes"}
			c.VolumeMode = new(corev1.PersistentVolumeMode("Raw"))
			c.StorageClassName = new("Fast_SSD")
		}, []Err{
			Invalid("spec.volumeClaimTemplates[0].spec.resources[storage]"),
			NotSupported("spec.volumeClaimTemplates[0].spec.accessModes"),
			Forbidden("spec.volumeClaimTemplates[0].spec.accessModes"),
			NotSupported("spec.volumeClaimTemplates[0].spec.volumeMode"),
			Invalid("spec.volumeClaimTemplates[0].spec.storageClassName"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := newStatefulSet()
			tt.mutate(ss)
			Expect(t, Validate(ss), tt.want...)
		})
	}
}

func TestClaimVolumes(t *testing.T) {
	ss := newStatefulSet()
	ss.Spec.Template.Spec.Volumes = []corev1.Volume{
		{Name: "www", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "config", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	got := withClaimVolumes(&ss.Spec.Template, ss.Spec.VolumeClaimTemplates)
	if len(got.Spec.Volumes) != 2 || got.Spec.Volumes[0].PersistentVolumeClaim == nil || got.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "www" || got.Spec.Volumes[1].Name != "config" {
		t.Errorf("volumes %+v", got.Spec.Volumes)
	}
	if ss.Spec.Template.Spec.Volumes[0].EmptyDir == nil {
		t.Errorf("the stored template was modified")
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newStatefulSet()
	ok := old.DeepCopy()
	ok.Spec.Replicas = new(int32(5))
	ok.Spec.MinReadySeconds = 10
	ok.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	ok.Spec.UpdateStrategy.RollingUpdate.Partition = new(int32(2))
	ok.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	ok.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 1}
	Expect(t, ValidateUpdate(ok, old))

	// Claim templates sent with apiVersion and kind match stored ones,
	// which have none.
	typed := old.DeepCopy()
	typed.Spec.VolumeClaimTemplates[0].APIVersion, typed.Spec.VolumeClaimTemplates[0].Kind = "v1", "PersistentVolumeClaim"
	Default(typed)
	Expect(t, ValidateUpdate(typed, old))
	decorated := old.DeepCopy()
	TypeClaimTemplates(decorated)
	if decorated.Spec.VolumeClaimTemplates[0].Kind != "PersistentVolumeClaim" {
		t.Errorf("TypeClaimTemplates left %+v", decorated.Spec.VolumeClaimTemplates[0].TypeMeta)
	}
	Expect(t, ValidateUpdate(old, decorated))

	bad := old.DeepCopy()
	bad.Spec.ServiceName = "other"
	bad.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	bad.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
	bad.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx", "v": "2"}}
	bad.Spec.Template.Labels = map[string]string{"app": "nginx", "v": "2"}
	Expect(t, ValidateUpdate(bad, old),
		Invalid("spec.serviceName"), Invalid("spec.podManagementPolicy"),
		Invalid("spec.volumeClaimTemplates"), Invalid("spec.selector"))

	// A set stored with a service name that is no longer valid can still
	// be scaled.
	legacy := newStatefulSet()
	legacy.Spec.ServiceName = "Legacy_Name"
	scaled := legacy.DeepCopy()
	scaled.Spec.Replicas = new(int32(1))
	Expect(t, ValidateUpdate(scaled, legacy))
}

func TestStatus(t *testing.T) {
	old := newStatefulSet()
	old.Status = appsv1.StatefulSetStatus{Replicas: 3, CollisionCount: new(int32(1))}
	ok := old.DeepCopy()
	ok.Status = appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 3, CurrentReplicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3, CollisionCount: new(int32(1))}
	Expect(t, ValidateStatusUpdate(ok, old))
	bad := old.DeepCopy()
	bad.Status = appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, CurrentReplicas: 2, AvailableReplicas: -1}
	Expect(t, ValidateStatusUpdate(bad, old), Invalid("status.availableReplicas"), Invalid("status.currentReplicas"), Invalid("status.collisionCount"))
}

func TestResource(t *testing.T) {
	r := Resource()
	if msgs := r.NameValidation("web.v1", false); len(msgs) == 0 {
		t.Errorf("a dotted name is accepted; stateful set names are DNS labels")
	}
	ss := newStatefulSet()
	ss.Spec.RevisionHistoryLimit = new(int32(-1))
	if w := r.Hooks.Warnings(context.Background(), ss, nil); len(w) != 1 {
		t.Errorf("warnings %q", w)
	}
	spec, _, sel := r.Scale.Get(ss)
	if spec != 3 || sel != "app=nginx" {
		t.Errorf("scale %d %q", spec, sel)
	}
}

func TestTable(t *testing.T) {
	ss := newStatefulSet()
	ss.CreationTimestamp = metav1.NewTime(time.Now().Add(-90 * time.Second))
	ss.Status.ReadyReplicas = 2
	row, err := Resource().Table.Row(ss)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"web", "2/3", "90s", "web", "nginx:1.27"}
	if len(row) != len(want) {
		t.Fatalf("row %v", row)
	}
	for i := range want {
		if row[i] != want[i] {
			t.Errorf("cell %d = %#v, want %#v", i, row[i], want[i])
		}
	}
}
