package apiserver

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kemudi/kemudi/internal/registry/printers"
)

// defaultColumns are upstream's columns for kinds without a printer.
var defaultColumns = []metav1.TableColumnDefinition{
	printers.NameColumn,
	{Name: "Created At", Type: "date", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
}

// table renders objects as the rows `kubectl get` prints. noHeaders leaves
// out the column definitions (watch events after the first).
func (s *Server) table(rq *request, objs []runtime.Object, listMeta *metav1.ListMeta, noHeaders bool) (*metav1.Table, error) {
	include := metav1.IncludeMetadata
	if v := rq.r.URL.Query().Get("includeObject"); v != "" {
		switch metav1.IncludeObjectPolicy(v) {
		case metav1.IncludeNone, metav1.IncludeMetadata, metav1.IncludeObject:
			include = metav1.IncludeObjectPolicy(v)
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unrecognized includeObject value: %q", v))
		}
	}
	t := &metav1.Table{}
	t.APIVersion, t.Kind = metaGV(rq.out.asVersion), "Table"
	if listMeta != nil {
		t.ListMeta = *listMeta
	} else if len(objs) == 1 {
		if m, err := meta.Accessor(objs[0]); err == nil {
			t.ResourceVersion = m.GetResourceVersion()
		}
	}
	printer := rq.ep.Table
	if !noHeaders {
		if printer != nil {
			t.ColumnDefinitions = printer.Columns
		} else {
			t.ColumnDefinitions = defaultColumns
		}
	}
	t.Rows = make([]metav1.TableRow, 0, len(objs))
	if rq.ep.custom != nil && len(objs) > 1 {
		// One conversion for all rows: one call of a conversion webhook.
		var err error
		if objs, err = s.versionedAll(rq.ctx(), rq.ep, objs); err != nil {
			return nil, err
		}
	}
	if listMeta != nil && printer != nil && printer.Less != nil {
		// A copy: objs may be the caller's (or the cache's) slice.
		objs = slices.Clone(objs)
		sort.SliceStable(objs, func(i, j int) bool { return printer.Less(objs[i], objs[j]) })
	}
	// A list's rows may depend on the other items (ListRow).
	var items []runtime.Object
	if listMeta != nil && printer != nil && printer.ListRow != nil {
		var err error
		if items, err = s.versionedAll(rq.ctx(), rq.ep, objs); err != nil {
			return nil, err
		}
	}
	for _, obj := range objs {
		obj, err := s.versionedOrError(rq.ctx(), rq.ep, obj)
		if err != nil {
			return nil, err
		}
		var cells []interface{}
		if printer != nil {
			var err error
			if items != nil {
				cells, err = printer.ListRow(obj, items)
			} else {
				cells, err = printer.Row(obj)
			}
			if err != nil {
				return nil, fmt.Errorf("print %s: %w", rq.ep.Kind, err)
			}
		} else {
			m, err := meta.Accessor(obj)
			if err != nil {
				return nil, err
			}
			cells = []interface{}{m.GetName(), m.GetCreationTimestamp().UTC().Format(time.RFC3339)}
		}
		row := metav1.TableRow{Cells: cells}
		switch include {
		case metav1.IncludeMetadata:
			raw, err := s.encodeNested(rq.out, partialMetadata(obj, rq.out.asVersion))
			if err != nil {
				return nil, err
			}
			row.Object = runtime.RawExtension{Raw: raw}
		case metav1.IncludeObject:
			raw, err := s.encodeNested(rq.out, obj)
			if err != nil {
				return nil, err
			}
			row.Object = runtime.RawExtension{Raw: raw}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// encodeNested encodes an object embedded in a Table row, in the
// response's own format (JSON for YAML responses).
func (s *Server) encodeNested(out output, obj runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	enc := runtime.Encoder(s.serializers.json)
	if out.mediaType == mediaProtobuf {
		enc = s.serializers.protobuf
	}
	if err := enc.Encode(obj, &buf); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
