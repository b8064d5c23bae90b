package all

import (
	"testing"
)

// Every kind's table printer prints the empty object: a Table watch's
// bookmark is one (upstream's printers take it too), and a printer that
// failed or panicked on it would end the client's watch.
func TestTablesPrintEmptyObjects(t *testing.T) {
	for _, r := range Resources() {
		if r.Table == nil || r.Table.Row == nil || r.New == nil {
			continue
		}
		name := r.GroupVersion.String() + "/" + r.Resource
		t.Run(name, func(t *testing.T) {
			cells, err := r.Table.Row(r.New())
			if err != nil {
				t.Fatalf("Row of an empty %s: %v", r.Kind, err)
			}
			if len(cells) != len(r.Table.Columns) {
				t.Errorf("Row of an empty %s: %d cells for %d columns", r.Kind, len(cells), len(r.Table.Columns))
			}
		})
	}
}
