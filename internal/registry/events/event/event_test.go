package event

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errKeys(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	return out
}

var (
	t0 = time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	t1 = t0.Add(time.Minute)
)

// scheduled is what the scheduler records through events.k8s.io.
func scheduled() *eventsv1.Event {
	return &eventsv1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"},
		ObjectMeta:          metav1.ObjectMeta{Name: "web-1.17b2c3", Namespace: "default", Labels: map[string]string{"a": "b"}},
		EventTime:           metav1.NewMicroTime(t0),
		ReportingController: "default-scheduler",
		ReportingInstance:   "default-scheduler-node-1",
		Action:              "Binding",
		Reason:              "Scheduled",
		Regarding:           corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", UID: "u1", APIVersion: "v1", ResourceVersion: "42"},
		Note:                "Successfully assigned default/web-1 to node-1",
		Type:                corev1.EventTypeNormal,
	}
}

// fullEvent sets every field of both shapes, to prove nothing is lost.
func fullEvent() *eventsv1.Event {
	ev := scheduled()
	ev.Series = &eventsv1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t1)}
	ev.Related = &corev1.ObjectReference{Kind: "Node", Name: "node-1"}
	ev.Regarding.FieldPath = "spec.containers{web}"
	ev.DeprecatedSource = corev1.EventSource{Component: "kubelet", Host: "node-1"}
	ev.DeprecatedFirstTimestamp = metav1.NewTime(t0.Truncate(time.Second))
	ev.DeprecatedLastTimestamp = metav1.NewTime(t1.Truncate(time.Second))
	ev.DeprecatedCount = 7
	return ev
}

func TestToStorage(t *testing.T) {
	core := ToStorage(fullEvent())
	want := &corev1.Event{
		TypeMeta:            metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:          metav1.ObjectMeta{Name: "web-1.17b2c3", Namespace: "default", Labels: map[string]string{"a": "b"}},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", UID: "u1", APIVersion: "v1", ResourceVersion: "42", FieldPath: "spec.containers{web}"},
		Reason:              "Scheduled",
		Message:             "Successfully assigned default/web-1 to node-1",
		Source:              corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp:      metav1.NewTime(t0.Truncate(time.Second)),
		LastTimestamp:       metav1.NewTime(t1.Truncate(time.Second)),
		Count:               7,
		Type:                "Normal",
		EventTime:           metav1.NewMicroTime(t0),
		Series:              &corev1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t1)},
		Action:              "Binding",
		Related:             &corev1.ObjectReference{Kind: "Node", Name: "node-1"},
		ReportingController: "default-scheduler",
		ReportingInstance:   "default-scheduler-node-1",
	}
	if !reflect.DeepEqual(core, want) {
		t.Errorf("got\n%+v\nwant\n%+v", core, want)
	}
}

func TestRoundTrip(t *testing.T) {
	for name, ev := range map[string]*eventsv1.Event{"full": fullEvent(), "singleton": scheduled(), "empty": {TypeMeta: metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}}} {
		t.Run(name, func(t *testing.T) {
			before := ev.DeepCopy()
			back := FromStorage(ToStorage(ev))
			if !reflect.DeepEqual(back, before) {
				t.Errorf("events.k8s.io -> core -> events.k8s.io:\n%+v\n%+v", back, before)
			}
			if !reflect.DeepEqual(ev, before) {
				t.Error("ToStorage changed its input")
			}
			core := ToStorage(ev)
			again := ToStorage(FromStorage(core))
			if !reflect.DeepEqual(again, core) {
				t.Errorf("core -> events.k8s.io -> core:\n%+v\n%+v", again, core)
			}
		})
	}

	// A core event as the kubelet writes it through core/v1.
	kubelet := &corev1.Event{
		TypeMeta:       metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{Name: "web-1.a", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1", Namespace: "default", FieldPath: "spec.containers{web}"},
		Reason:         "Pulled", Message: "Container image pulled", Type: "Normal",
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: metav1.NewTime(t0.Truncate(time.Second)), LastTimestamp: metav1.NewTime(t1.Truncate(time.Second)), Count: 2,
	}
	ev := FromStorage(kubelet)
	if ev.Note != "Container image pulled" || ev.Regarding.Name != "web-1" || ev.DeprecatedCount != 2 || ev.DeprecatedSource.Host != "node-1" || ev.APIVersion != "events.k8s.io/v1" {
		t.Errorf("%+v", ev)
	}
	if !reflect.DeepEqual(ToStorage(ev), kubelet) {
		t.Error("core event does not survive the round trip")
	}
	// Mutating the result does not touch the stored object.
	ev.Regarding.Name = "x"
	ev.Labels = map[string]string{"x": "y"}
	if kubelet.InvolvedObject.Name != "web-1" || kubelet.Labels != nil {
		t.Error("FromStorage aliases its input")
	}
}

func TestConvertHooks(t *testing.T) {
	r := Resource()
	if r.StoragePrefix != "events" || r.Convert == nil {
		t.Fatalf("%+v", r)
	}
	stored, err := r.Convert.ToStorage(context.Background(), scheduled())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stored.(*corev1.Event); !ok {
		t.Fatalf("stored a %T", stored)
	}
	back, err := r.Convert.FromStorage(context.Background(), stored)
	if err != nil || !reflect.DeepEqual(back, scheduled()) {
		t.Errorf("%v %+v", err, back)
	}
	if _, err := r.Convert.FromStorage(context.Background(), &corev1.Pod{}); err == nil {
		t.Error("a pod converted to an event")
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*eventsv1.Event)
		want   []string
	}{
		{name: "valid", modify: func(*eventsv1.Event) {}},
		{name: "warning with series", modify: func(ev *eventsv1.Event) {
			ev.Type = corev1.EventTypeWarning
			ev.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t1)}
		}},
		{name: "cluster-scoped object in default", modify: func(ev *eventsv1.Event) { ev.Regarding = corev1.ObjectReference{Kind: "Node", Name: "node-1"} }},
		{name: "cluster-scoped object elsewhere", modify: func(ev *eventsv1.Event) {
			ev.Namespace = "web"
			ev.Regarding = corev1.ObjectReference{Kind: "Node", Name: "node-1"}
		}, want: []string{"involvedObject.namespace: Invalid value"}},
		{name: "no eventTime", modify: func(ev *eventsv1.Event) { ev.EventTime = metav1.MicroTime{} }, want: []string{"eventTime: Required value"}},
		{name: "no reporting controller", modify: func(ev *eventsv1.Event) { ev.ReportingController = "" },
			want: []string{"reportingController: Required value", "reportingController: Invalid value", "reportingController: Invalid value"}},
		{name: "bad reporting controller", modify: func(ev *eventsv1.Event) { ev.ReportingController = "my scheduler" },
			want: []string{"reportingController: Invalid value"}},
		{name: "no reporting instance", modify: func(ev *eventsv1.Event) { ev.ReportingInstance = "" }, want: []string{"reportingInstance: Required value"}},
		{name: "long reporting instance", modify: func(ev *eventsv1.Event) { ev.ReportingInstance = strings.Repeat("i", 129) },
			want: []string{"reportingInstance: Invalid value"}},
		{name: "no action", modify: func(ev *eventsv1.Event) { ev.Action = "" }, want: []string{"action: Required value"}},
		{name: "long action", modify: func(ev *eventsv1.Event) { ev.Action = strings.Repeat("a", 129) }, want: []string{"action: Invalid value"}},
		{name: "no reason", modify: func(ev *eventsv1.Event) { ev.Reason = "" }, want: []string{"reason: Required value"}},
		{name: "long note", modify: func(ev *eventsv1.Event) { ev.Note = strings.Repeat("n", 1025) }, want: []string{"message: Invalid value"}},
		{name: "bad type", modify: func(ev *eventsv1.Event) { ev.Type = "Error" }, want: []string{"type: Invalid value"}},
		{name: "no type", modify: func(ev *eventsv1.Event) { ev.Type = "" }, want: []string{"type: Invalid value"}},
		{name: "short series", modify: func(ev *eventsv1.Event) { ev.Series = &eventsv1.EventSeries{Count: 1} },
			want: []string{"series.count: Invalid value", "series.lastObservedTime: Required value"}},
		{name: "deprecated fields set", modify: func(ev *eventsv1.Event) {
			ev.DeprecatedFirstTimestamp = metav1.NewTime(t0)
			ev.DeprecatedLastTimestamp = metav1.NewTime(t0)
			ev.DeprecatedCount = 1
			ev.DeprecatedSource = corev1.EventSource{Component: "kubelet"}
		}, want: []string{"firstTimestamp: Invalid value", "lastTimestamp: Invalid value", "count: Invalid value", "source: Invalid value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := scheduled()
			tc.modify(ev)
			got := errKeys(Resource().Hooks.Validate(context.Background(), ev))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := scheduled()
	old.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(t0)}

	ev := old.DeepCopy()
	ev.Series = &eventsv1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t1)}
	ev.EventTime = metav1.NewMicroTime(t0.Add(400 * time.Nanosecond))
	ev.Labels = map[string]string{"c": "d"}
	if errs := Resource().Hooks.ValidateUpdate(context.Background(), ev, old); len(errs) != 0 {
		t.Errorf("a series heartbeat was rejected: %v", errs)
	}

	ev = old.DeepCopy()
	ev.Series.Count = 1
	ev.Note = "changed"
	ev.Reason = "Other"
	ev.Regarding.Name = "web-2"
	ev.EventTime = metav1.NewMicroTime(t1)
	got := errKeys(Resource().Hooks.ValidateUpdate(context.Background(), ev, old))
	want := []string{
		"series.count: Invalid value",
		"involvedObject: Invalid value",
		"reason: Invalid value",
		"message: Invalid value",
		"reason: Invalid value",
		"eventTime: Invalid value",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSelectableFields(t *testing.T) {
	set := Resource().SelectableFields(scheduled())
	for sel, match := range map[string]bool{
		"regarding.kind=Pod,regarding.name=web-1":      true,
		"reportingController=default-scheduler":        true,
		"type=Warning":                                 false,
		"reason=Scheduled,regarding.namespace=default": true,
	} {
		s, err := fields.ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		if s.Matches(set) != match {
			t.Errorf("%s: match=%v", sel, !match)
		}
	}
	if _, ok := Resource().SelectableFields(&eventsv1.Event{})["source"]; ok {
		t.Error("source is not selectable through events.k8s.io")
	}
}

func TestTable(t *testing.T) {
	tab := Resource().Table
	var cols []string
	for _, c := range tab.Columns {
		if c.Priority == 1 {
			cols = append(cols, c.Name+"(wide)")
		} else {
			cols = append(cols, c.Name)
		}
	}
	want := []string{"Last Seen", "Type", "Reason", "Object", "Subobject(wide)", "Source(wide)", "Message", "First Seen(wide)", "Count(wide)", "Name(wide)"}
	if !reflect.DeepEqual(cols, want) {
		t.Errorf("columns %v", cols)
	}

	now := time.Now()
	ev := scheduled()
	ev.EventTime = metav1.NewMicroTime(now.Add(-2 * time.Minute))
	ev.Note = "  Successfully assigned default/web-1 to node-1\n"
	row, _ := tab.Row(ev)
	wantRow := []interface{}{"2m", "Normal", "Scheduled", "pod/web-1", "", "default-scheduler, default-scheduler-node-1",
		"Successfully assigned default/web-1 to node-1", "2m", int64(1), "web-1.17b2c3"}
	if !reflect.DeepEqual(row, wantRow) {
		t.Errorf("singleton row %q\nwant %q", row, wantRow)
	}

	ev.Series = &eventsv1.EventSeries{Count: 5, LastObservedTime: metav1.NewMicroTime(now.Add(-10 * time.Second))}
	if row, _ = tab.Row(ev); row[0] != "10s" || row[8] != int64(5) || row[7] != "2m" {
		t.Errorf("series row %q", row)
	}

	// An old-style event read through events.k8s.io.
	old := FromStorage(&corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "n.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Node"},
		Source:         corev1.EventSource{Component: "kubelet"},
		FirstTimestamp: metav1.NewTime(now.Add(-3 * time.Hour)), LastTimestamp: metav1.NewTime(now.Add(-time.Hour)), Count: 4,
	})
	row, _ = tab.Row(old)
	if row[0] != "60m" || row[3] != "node" || row[5] != "kubelet" || row[7] != "3h" || row[8] != int64(4) {
		t.Errorf("old-style row %q", row)
	}
}
