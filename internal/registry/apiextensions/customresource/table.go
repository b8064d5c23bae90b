package customresource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metatable "k8s.io/apimachinery/pkg/api/meta/table"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/jsonpath"

	"github.com/kemudi/kemudi/internal/registry"
	"github.com/kemudi/kemudi/internal/registry/printers"
)

// ageColumn is upstream's only column after NAME when a CRD declares no
// additionalPrinterColumns.
var ageColumn = apiextensionsv1.CustomResourceColumnDefinition{
	Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp",
	Description: printers.AgeColumn.Description,
}

// column is one additional printer column with its parsed JSON path. A
// JSONPath keeps state while it runs: mu serializes its use.
type column struct {
	def  apiextensionsv1.CustomResourceColumnDefinition
	mu   sync.Mutex
	path *jsonpath.JSONPath
}

// table prints NAME and the CRD's additionalPrinterColumns (AGE when it
// declares none), as upstream's table convertor does.
func table(defs []apiextensionsv1.CustomResourceColumnDefinition) *registry.Table {
	if len(defs) == 0 {
		defs = []apiextensionsv1.CustomResourceColumnDefinition{ageColumn}
	}
	t := &registry.Table{Columns: []metav1.TableColumnDefinition{printers.NameColumn}}
	var cols []*column
	for _, d := range defs {
		p := jsonpath.New(d.Name).AllowMissingKeys(true)
		if err := p.Parse(fmt.Sprintf("{%s}", d.JSONPath)); err != nil {
			// Validation refuses such a CRD; an old one prints no cell.
			p = nil
		}
		cols = append(cols, &column{def: d, path: p})
		t.Columns = append(t.Columns, metav1.TableColumnDefinition{
			Name: d.Name, Type: d.Type, Format: d.Format, Description: d.Description, Priority: d.Priority,
		})
	}
	t.Row = func(obj runtime.Object) ([]interface{}, error) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return nil, fmt.Errorf("custom object is %T, not Unstructured", obj)
		}
		cells := make([]interface{}, 0, len(cols)+1)
		cells = append(cells, u.GetName())
		for _, c := range cols {
			cells = append(cells, c.cell(u.Object))
		}
		return cells, nil
	}
	return t
}

// cell is the column's value in obj: nil when missing, a string printed
// by the JSON path for string columns, else a typed value.
func (c *column) cell(obj map[string]interface{}) interface{} {
	if c.path == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	results, err := c.path.FindResults(obj)
	if err != nil || len(results) == 0 || len(results[0]) == 0 {
		return nil
	}
	value := results[0][0].Interface()
	if c.def.Type == "string" {
		var buf bytes.Buffer
		if err := c.path.PrintResults(&buf, []reflect.Value{reflect.ValueOf(value)}); err != nil {
			return nil
		}
		return buf.String()
	}
	return cellForJSONValue(c.def.Type, value)
}

// cellForJSONValue converts a JSON value to the cell type of a column;
// dates print as ages, as upstream's.
func cellForJSONValue(typ string, value interface{}) interface{} {
	if value == nil {
		return nil
	}
	switch typ {
	case "integer":
		switch v := value.(type) {
		case int64:
			return v
		case float64:
			return int64(v)
		case json.Number:
			if i, err := v.Int64(); err == nil {
				return i
			}
		}
	case "number":
		switch v := value.(type) {
		case int64:
			return float64(v)
		case float64:
			return v
		case json.Number:
			if f, err := v.Float64(); err == nil {
				return f
			}
		}
	case "boolean":
		if b, ok := value.(bool); ok {
			return b
		}
	case "date":
		if s, ok := value.(string); ok {
			var ts metav1.Time
			if err := ts.UnmarshalQueryParameter(s); err != nil {
				return "<invalid>"
			}
			return metatable.ConvertToHumanReadableDateType(ts)
		}
	}
	return nil
}
