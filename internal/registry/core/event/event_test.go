package event

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(time.Now().Add(-d)) }

// kubeletEvent is an old-style event as the kubelet records one.
func kubeletEvent() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web-7d4b9.17a2b3c4d5e6f7a8", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-7d4b9", UID: "u1", APIVersion: "v1", FieldPath: "spec.containers{web}"},
		Reason:         "Pulled",
		Message:        "Successfully pulled image \"flask-app:v1\"\n",
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: ago(10 * time.Minute),
		LastTimestamp:  ago(2 * time.Minute),
		Count:          3,
		Type:           corev1.EventTypeNormal,
	}
}

// recorderEvent is a new-style event as client-go's events recorder
// posts it through core/v1.
func recorderEvent() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Deployment", Namespace: "default", Name: "web"},
		Reason:              "ScalingReplicaSet",
		Message:             "Scaled up replica set web-7d4b9 to 1",
		EventTime:           metav1.NewMicroTime(time.Now().Add(-30 * time.Second)),
		ReportingController: "deployment-controller",
		ReportingInstance:   "deployment-controller-node-1",
		Action:              "ScaleUp",
		Type:                corev1.EventTypeNormal,
	}
}

func TestValidate(t *testing.T) {
	if errs := Validate(kubeletEvent()); len(errs) != 0 {
		t.Fatalf("kubelet event rejected: %v", errs)
	}
	if errs := Validate(recorderEvent()); len(errs) != 0 {
		t.Fatalf("recorder event rejected: %v", errs)
	}
	node := kubeletEvent()
	node.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-1"}
	if errs := Validate(node); len(errs) != 0 {
		t.Errorf("node event in default rejected: %v", errs)
	}
	cases := []struct {
		name string
		ev   func() *corev1.Event
		typ  field.ErrorType
		path string
	}{
		{"namespace mismatch", func() *corev1.Event {
			e := kubeletEvent()
			e.InvolvedObject.Namespace = "kube-system"
			return e
		}, field.ErrorTypeInvalid, "involvedObject.namespace"},
		{"cluster object outside default", func() *corev1.Event {
			e := kubeletEvent()
			e.Namespace = "web"
			e.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-1"}
			return e
		}, field.ErrorTypeInvalid, "involvedObject.namespace"},
		{"new-style without reporting component", func() *corev1.Event {
			e := recorderEvent()
			e.ReportingController = "bad name!"
			return e
		}, field.ErrorTypeInvalid, "reportingComponent"},
		{"new-style without action", func() *corev1.Event {
			e := recorderEvent()
			e.Action = ""
			return e
		}, field.ErrorTypeRequired, "action"},
		{"new-style message too long", func() *corev1.Event {
			e := recorderEvent()
			e.Message = strings.Repeat("x", 1025)
			return e
		}, field.ErrorTypeInvalid, "message"},
		{"new-style reason too long", func() *corev1.Event {
			e := recorderEvent()
			e.Reason = strings.Repeat("x", 129)
			return e
		}, field.ErrorTypeInvalid, "reason"},
	}
	for _, tc := range cases {
		errs := Validate(tc.ev())
		if len(errs) != 1 || errs[0].Type != tc.typ || errs[0].Field != tc.path {
			t.Errorf("%s: got %v, want %s at %s", tc.name, errs, tc.typ, tc.path)
		}
	}
	if errs := Validate(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default"}, EventTime: metav1.NowMicro()}); len(errs) != 6 {
		t.Errorf("empty new-style event: %v", errs)
	}
}

func TestTable(t *testing.T) {
	tbl := table()
	if len(tbl.Columns) != 10 {
		t.Fatalf("columns = %d", len(tbl.Columns))
	}
	wide := map[string]bool{"Subobject": true, "Source": true, "First Seen": true, "Count": true, "Name": true}
	for _, c := range tbl.Columns {
		if wide[c.Name] != (c.Priority == 1) {
			t.Errorf("column %s priority %d", c.Name, c.Priority)
		}
	}
	cells, _ := tbl.Row(kubeletEvent())
	want := []interface{}{"2m", "Normal", "Pulled", "pod/web-7d4b9", "spec.containers{web}", "kubelet, node-1",
		`Successfully pulled image "flask-app:v1"`, "10m", int64(3), "web-7d4b9.17a2b3c4d5e6f7a8"}
	for i := range want {
		if cells[i] != want[i] {
			t.Errorf("kubelet event cell %d (%s) = %#v, want %#v", i, tbl.Columns[i].Name, cells[i], want[i])
		}
	}
	cells, _ = tbl.Row(recorderEvent())
	want = []interface{}{"30s", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller, deployment-controller-node-1",
		"Scaled up replica set web-7d4b9 to 1", "30s", int64(1), "web.1"}
	for i := range want {
		if cells[i] != want[i] {
			t.Errorf("recorder event cell %d (%s) = %#v, want %#v", i, tbl.Columns[i].Name, cells[i], want[i])
		}
	}
	series := recorderEvent()
	series.Series = &corev1.EventSeries{Count: 5, LastObservedTime: metav1.NewMicroTime(time.Now().Add(-5 * time.Second))}
	cells, _ = tbl.Row(series)
	if cells[0] != "5s" || cells[8] != int64(5) {
		t.Errorf("series event: last seen %v, count %v", cells[0], cells[8])
	}
}

func TestSelectableFields(t *testing.T) {
	f := SelectableFields(kubeletEvent())
	if f["involvedObject.kind"] != "Pod" || f["involvedObject.name"] != "web-7d4b9" || f["source"] != "kubelet" ||
		f["type"] != "Normal" || f["reason"] != "Pulled" || f["reportingComponent"] != "" {
		t.Errorf("kubelet event fields = %v", f)
	}
	if f := SelectableFields(recorderEvent()); f["source"] != "deployment-controller" || f["reportingComponent"] != "deployment-controller" {
		t.Errorf("recorder event fields = %v", f)
	}
	if len(f) != 11 {
		t.Errorf("%d fields, want 11", len(f))
	}
}
