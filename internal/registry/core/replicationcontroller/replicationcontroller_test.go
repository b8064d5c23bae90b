package replicationcontroller

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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

// nginx is a realistic controller as a user writes it, before defaults.
func nginx() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: "default"},
		Spec: corev1.ReplicationControllerSpec{
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				// restartPolicy is set so the test holds whatever podspec
				// defaults.
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{
					Name: "nginx", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				}}},
			},
		},
	}
}

func TestDefault(t *testing.T) {
	rc := nginx()
	Default(rc)
	if rc.Spec.Replicas == nil || *rc.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1", rc.Spec.Replicas)
	}
	if want := map[string]string{"app": "nginx"}; !reflect.DeepEqual(rc.Spec.Selector, want) || !reflect.DeepEqual(rc.Labels, want) {
		t.Errorf("selector = %v, labels = %v, want both %v", rc.Spec.Selector, rc.Labels, want)
	}
	// The defaulted selector is a copy, not the template's map.
	rc.Spec.Selector["x"] = "y"
	if _, ok := rc.Spec.Template.Labels["x"]; ok {
		t.Errorf("selector shares the template's label map")
	}

	rc = nginx()
	three := int32(3)
	rc.Spec.Replicas = &three
	rc.Spec.Selector = map[string]string{"app": "nginx"}
	rc.Labels = map[string]string{"tier": "web"}
	rc.Spec.Template.Labels["version"] = "1"
	Default(rc)
	if *rc.Spec.Replicas != 3 || len(rc.Spec.Selector) != 1 || rc.Labels["tier"] != "web" || len(rc.Labels) != 1 {
		t.Errorf("set fields were overwritten: %+v %+v", rc.Spec, rc.Labels)
	}
}

func TestValidate(t *testing.T) {
	neg := int32(-1)
	deadline := int64(30)
	for _, tc := range []struct {
		name   string
		mutate func(rc *corev1.ReplicationController)
		want   []string
	}{
		{"valid", func(*corev1.ReplicationController) {}, nil},
		{"negative replicas", func(rc *corev1.ReplicationController) { rc.Spec.Replicas = &neg }, []string{"FieldValueInvalid spec.replicas"}},
		{"negative minReadySeconds", func(rc *corev1.ReplicationController) { rc.Spec.MinReadySeconds = -5 }, []string{"FieldValueInvalid spec.minReadySeconds"}},
		{"selector does not match", func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "apache"} }, []string{"FieldValueInvalid spec.template.metadata.labels"}},
		{"no template", func(rc *corev1.ReplicationController) { rc.Spec.Template = nil }, []string{"FieldValueRequired spec.template"}},
		{"empty selector", func(rc *corev1.ReplicationController) { rc.Spec.Selector = nil }, []string{"FieldValueRequired spec.selector"}},
		{"restart never", func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		}, []string{"FieldValueNotSupported spec.template.spec.restartPolicy"}},
		{"deadline", func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.ActiveDeadlineSeconds = &deadline }, []string{"FieldValueForbidden spec.template.spec.activeDeadlineSeconds"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := nginx()
			Default(rc)
			tc.mutate(rc)
			if got := errKeys(Validate(rc)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidateStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status corev1.ReplicationControllerStatus
		want   []string
	}{
		{"valid", corev1.ReplicationControllerStatus{Replicas: 3, FullyLabeledReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, ObservedGeneration: 4}, nil},
		{"negative", corev1.ReplicationControllerStatus{Replicas: 1, ObservedGeneration: -1}, []string{"FieldValueInvalid status.observedGeneration"}},
		{"ready above replicas", corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 2, AvailableReplicas: 2}, []string{"FieldValueInvalid status.readyReplicas", "FieldValueInvalid status.availableReplicas"}},
		{"available above ready", corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2}, []string{"FieldValueInvalid status.availableReplicas"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errKeys(ValidateStatus(&tc.status, field.NewPath("status"))); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScale(t *testing.T) {
	rc := nginx()
	Default(rc)
	rc.Spec.Selector["tier"] = "web"
	rc.Status.Replicas = 1
	s := Resource().Scale
	spec, status, sel := s.Get(rc)
	if spec != 1 || status != 1 || sel != "app=nginx,tier=web" {
		t.Errorf("scale = %d %d %q", spec, status, sel)
	}
	s.Set(rc, 5)
	if *rc.Spec.Replicas != 5 {
		t.Errorf("replicas = %d after Set(5)", *rc.Spec.Replicas)
	}
}

func TestWarnings(t *testing.T) {
	rc := nginx()
	if w := Warnings(rc); w != nil {
		t.Errorf("warnings = %v", w)
	}
	rc.Name = "web.v1"
	if w := Warnings(rc); len(w) != 1 || !strings.HasPrefix(w[0], "metadata.name:") {
		t.Errorf("warnings = %v, want one about the name", w)
	}
}

func TestTable(t *testing.T) {
	rc := nginx()
	Default(rc)
	rc.CreationTimestamp = metav1.NewTime(time.Now().Add(-30 * time.Second))
	rc.Spec.Template.Spec.Containers = append(rc.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 1, ReadyReplicas: 0}
	tbl := Resource().Table
	row, err := tbl.Row(rc)
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"nginx", int64(1), int64(1), int64(0), "30s", "nginx,sidecar", "nginx:1.27,busybox", "app=nginx"}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row = %v, want %v", row, want)
	}
	for i, c := range tbl.Columns {
		if wide := i >= 5; wide != (c.Priority == 1) {
			t.Errorf("column %s priority %d", c.Name, c.Priority)
		}
	}
}

// TestDefaultedTemplateIsValid checks the whole path a bare manifest
// takes: podspec's defaults (restartPolicy Always among them) make it
// valid.
func TestDefaultedTemplateIsValid(t *testing.T) {
	rc := nginx()
	rc.Spec.Template.Spec.RestartPolicy = ""
	Default(rc)
	if errs := Validate(rc); len(errs) != 0 {
		t.Errorf("defaulted controller invalid: %v", errs)
	}
	if rc.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("restartPolicy = %q", rc.Spec.Template.Spec.RestartPolicy)
	}
}

func TestWarningsHookOnCreateOnly(t *testing.T) {
	rc := nginx()
	rc.Name = "web.v1"
	hook := Resource().Hooks.Warnings
	var typedNil *corev1.ReplicationController
	if w := hook(context.Background(), rc, nil); len(w) != 1 {
		t.Errorf("create (nil old): %v", w)
	}
	if w := hook(context.Background(), rc, typedNil); len(w) != 1 {
		t.Errorf("create (nil pointer old): %v", w)
	}
	if w := hook(context.Background(), rc, rc.DeepCopy()); w != nil {
		t.Errorf("update: %v", w)
	}
}
