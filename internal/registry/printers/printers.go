// Package printers holds the cell formatting shared by the resources' table
// columns, so that every kind prints ages, selectors and lists the way
// upstream's printers do.
package printers

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// NameColumn is the first column of every table.
var NameColumn = metav1.TableColumnDefinition{
	Name: "Name", Type: "string", Format: "name",
	Description: "Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
}

// AgeColumn is the AGE column; its cell comes from Age.
var AgeColumn = metav1.TableColumnDefinition{
	Name: "Age", Type: "string",
	Description: "CreationTimestamp is a timestamp representing the server time when this object was created. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
}

// Age prints how long ago t was, as upstream does ("<unknown>" for zero).
func Age(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}

// ShortAge is like Age but with upstream's short form for durations
// inside other cells (e.g. "5m" in a pod's RESTARTS "3 (5m ago)").
func ShortAge(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.ShortHumanDuration(time.Since(t.Time))
}

// OrNone returns s, or "<none>" when it is empty.
func OrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// JoinOrNone joins items with commas, "<none>" when there are none.
func JoinOrNone(items []string) string {
	return OrNone(strings.Join(items, ","))
}
