package printers

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CreatedAtColumn is the second column of upstream's default table, the
// one the API server prints for kinds without a printer of their own
// (roles, cluster roles): NAME and CREATED AT.
var CreatedAtColumn = metav1.TableColumnDefinition{
	Name: "Created At", Type: "date",
	Description: AgeColumn.Description,
}

// CreatedAt formats a creation timestamp as the default table does: the
// UTC time in RFC 3339, not an age.
func CreatedAt(t metav1.Time) string {
	return t.UTC().Format(time.RFC3339)
}
