package apiserver

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// maxQuantityExponent bounds the decimal exponent of a quantity in a
// request. The resource package parses "1e-999999999" by rounding to
// nanos, and compares "1e999999999" with anything, through powers of ten
// with a billion digits: the request never ends and burns a core. No
// resource amount needs an exponent past a few dozen; up to a thousand
// costs microseconds.
const maxQuantityExponent = 1000

var (
	quantityType = reflect.TypeOf(resource.Quantity{})
	// mayHaveHugeExponent finds, cheaply, the bodies worth a closer look:
	// a number with an exponent of four digits or more.
	mayHaveHugeExponent = regexp.MustCompile(`[0-9.][eE][+-]?[0-9]{4,}`)
	quantityExponent    = regexp.MustCompile(`^\s*[+-]?[0-9.]*[eE]([+-]?[0-9]+)\s*$`)
)

// checkQuantities refuses a JSON or YAML body that would decode into a
// quantity the resource package cannot parse or compare in bounded time.
// The body decodes into the kind it names, its missing apiVersion or kind
// taken from want, as the decoder does; into when the scheme does not
// know that kind. It must run before the body is decoded.
func checkQuantities(data []byte, yamlBody bool, scheme *runtime.Scheme, want schema.GroupVersionKind, into runtime.Object) error {
	if !mayHaveHugeExponent.Match(data) {
		return nil
	}
	if yamlBody {
		converted, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil // the decoder reports it
		}
		data = converted
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		return nil // the decoder reports it
	}
	t := reflect.TypeOf(into)
	if m, ok := v.(map[string]interface{}); ok {
		apiVersion, _ := m["apiVersion"].(string)
		kind, _ := m["kind"].(string)
		if gv, err := schema.ParseGroupVersion(apiVersion); err == nil {
			if obj, err := scheme.New(withDefaults(gv.WithKind(kind), want)); err == nil {
				t = reflect.TypeOf(obj)
			}
		}
	}
	return checkQuantitiesIn(v, t, nil)
}

// withDefaults fills what a body's apiVersion and kind leave out, as the
// JSON and YAML decoders do.
func withDefaults(actual, defaults schema.GroupVersionKind) schema.GroupVersionKind {
	if actual.Kind == "" {
		actual.Kind = defaults.Kind
	}
	if actual.Version == "" && (actual.Group == "" || actual.Group == defaults.Group) {
		actual.Group, actual.Version = defaults.Group, defaults.Version
	}
	return actual
}

// checkQuantitiesIn walks a decoded JSON value along the Go type it
// decodes into and checks every quantity.
func checkQuantitiesIn(v interface{}, t reflect.Type, path *field.Path) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == quantityType {
		var s string
		switch q := v.(type) {
		case string:
			s = q
		case json.Number:
			s = q.String()
		default:
			return nil
		}
		if hugeExponent(s) {
			return apierrors.NewBadRequest(field.Invalid(path, s, "quantity exponent must be between -"+strconv.Itoa(maxQuantityExponent)+" and "+strconv.Itoa(maxQuantityExponent)).Error())
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]interface{})
		if !ok {
			return nil
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
				if err := checkQuantitiesIn(v, f.Type, path); err != nil {
					return err
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			if fv, ok := m[name]; ok {
				if err := checkQuantitiesIn(fv, f.Type, childPath(path, name)); err != nil {
					return err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		items, ok := v.([]interface{})
		if !ok {
			return nil
		}
		for i, item := range items {
			if err := checkQuantitiesIn(item, t.Elem(), indexPath(path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]interface{})
		if !ok {
			return nil
		}
		for k, item := range m {
			if err := checkQuantitiesIn(item, t.Elem(), keyPath(path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func hugeExponent(s string) bool {
	m := quantityExponent.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	e, err := strconv.ParseInt(m[1], 10, 64)
	return err != nil || e > maxQuantityExponent || e < -maxQuantityExponent
}

func childPath(p *field.Path, name string) *field.Path {
	if p == nil {
		return field.NewPath(name)
	}
	return p.Child(name)
}

func indexPath(p *field.Path, i int) *field.Path {
	if p == nil {
		return field.NewPath("").Index(i)
	}
	return p.Index(i)
}

func keyPath(p *field.Path, k string) *field.Path {
	if p == nil {
		return field.NewPath("").Key(k)
	}
	return p.Key(k)
}
