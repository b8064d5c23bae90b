package podtemplate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func template() *corev1.PodTemplate {
	t := &corev1.PodTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "web", Image: "flask-app:v1"},
				{Name: "log", Image: "fluent-bit:2"},
			}},
		},
	}
	Resource().Hooks.Default(t)
	return t
}

func TestValidate(t *testing.T) {
	tmpl := template()
	if errs := Validate(tmpl); len(errs) != 0 {
		t.Fatalf("valid template rejected: %v", errs)
	}
	if tmpl.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways || tmpl.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("template not defaulted: %+v", tmpl.Template.Spec)
	}
	if tmpl.Template.Spec.EnableServiceLinks != nil {
		t.Errorf("templates do not get pod-only defaults")
	}

	cases := []struct {
		name   string
		mutate func(t *corev1.PodTemplate)
		typ    field.ErrorType
		path   string
	}{
		{"no containers", func(t *corev1.PodTemplate) { t.Template.Spec.Containers = nil }, field.ErrorTypeRequired, "template.spec.containers"},
		{"bad label", func(t *corev1.PodTemplate) { t.Template.Labels["a b"] = "c" }, field.ErrorTypeInvalid, "template.labels"},
		{"bad restart policy", func(t *corev1.PodTemplate) { t.Template.Spec.RestartPolicy = "Sometimes" }, field.ErrorTypeNotSupported, "template.spec.restartPolicy"},
		{"duplicate containers", func(t *corev1.PodTemplate) { t.Template.Spec.Containers[1].Name = "web" }, field.ErrorTypeDuplicate, "template.spec.containers[1].name"},
	}
	for _, tc := range cases {
		tmpl := template()
		tc.mutate(tmpl)
		errs := Validate(tmpl)
		if len(errs) != 1 || errs[0].Type != tc.typ || errs[0].Field != tc.path {
			t.Errorf("%s: got %v, want %s at %s", tc.name, errs, tc.typ, tc.path)
		}
	}
}

func TestTable(t *testing.T) {
	tbl := table()
	cells, err := tbl.Row(template())
	if err != nil {
		t.Fatal(err)
	}
	want := []interface{}{"web", "web,log", "flask-app:v1,fluent-bit:2", "app=web,tier=front"}
	if len(cells) != len(tbl.Columns) {
		t.Fatalf("%d cells for %d columns", len(cells), len(tbl.Columns))
	}
	for i := range want {
		if cells[i] != want[i] {
			t.Errorf("cell %d = %v, want %v", i, cells[i], want[i])
		}
	}
	empty := template()
	empty.Template.Labels = nil
	cells, _ = tbl.Row(empty)
	if cells[3] != "<none>" {
		t.Errorf("POD LABELS of an unlabelled template = %v", cells[3])
	}
}

func TestWarnings(t *testing.T) {
	tmpl := template()
	tmpl.Template.Spec.NodeSelector = map[string]string{"beta.kubernetes.io/arch": "amd64"}
	w := Warnings(tmpl, nil)
	if len(w) != 1 || w[0] != `template.spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use "kubernetes.io/arch" instead` {
		t.Errorf("warnings = %q", w)
	}
	if w := Warnings(tmpl, tmpl.DeepCopy()); len(w) != 0 {
		t.Errorf("unchanged template warned again: %q", w)
	}
}
