package apiserver

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

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
	quantityType     = reflect.TypeOf(resource.Quantity{})
	quantityExponent = regexp.MustCompile(`^\s*[+-]?[0-9.]*[eE]([+-]?[0-9]+)\s*$`)
)

// mayHaveHugeExponent finds, cheaply, the bodies worth a closer look: a
// number with an exponent of four digits or more (`[0-9.][eE][+-]?[0-9]{4,}`
// as a regular expression, which costs every write a few percent of the
// server's CPU where this loop costs next to nothing).
func mayHaveHugeExponent(data []byte) bool {
	for i := 1; i < len(data); i++ {
		if c := data[i]; c != 'e' && c != 'E' {
			continue
		}
		if p := data[i-1]; p != '.' && (p < '0' || p > '9') {
			continue
		}
		j := i + 1
		if j < len(data) && (data[j] == '+' || data[j] == '-') {
			j++
		}
		digits := 0
		for j < len(data) && data[j] >= '0' && data[j] <= '9' && digits < 4 {
			j++
			digits++
		}
		if digits == 4 {
			return true
		}
	}
	return false
}

// checkBodyQuantities checks the quantities of a request body in any of
// the media types the server reads.
func (s *Server) checkBodyQuantities(data []byte, contentType string, want schema.GroupVersionKind, into runtime.Object) error {
	switch mediaOf(contentType) {
	case mediaProtobuf:
		return checkProtobufQuantities(data, s.scheme, want, into)
	case mediaYAML:
		return checkQuantities(data, true, s.scheme, want, into)
	}
	return checkQuantities(data, false, s.scheme, want, into)
}

// checkQuantities refuses a JSON or YAML body that would decode into a
// quantity the resource package cannot parse or compare in bounded time.
// The body decodes into the kind it names, its missing apiVersion or kind
// taken from want, as the decoder does; into when the scheme does not
// know that kind. It must run before the body is decoded.
func checkQuantities(data []byte, yamlBody bool, scheme *runtime.Scheme, want schema.GroupVersionKind, into runtime.Object) error {
	if !mayHaveHugeExponent(data) {
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
	var apiVersion, kind string
	if m, ok := v.(map[string]interface{}); ok {
		apiVersion, _ = m["apiVersion"].(string)
		kind, _ = m["kind"].(string)
	}
	return checkQuantitiesIn(v, bodyType(scheme, apiVersion, kind, want, into), nil)
}

// bodyType is the Go type a body naming apiVersion and kind decodes into:
// the scheme's type for them, their missing parts taken from want, else
// into's.
func bodyType(scheme *runtime.Scheme, apiVersion, kind string, want schema.GroupVersionKind, into runtime.Object) reflect.Type {
	if gv, err := schema.ParseGroupVersion(apiVersion); err == nil {
		if obj, err := scheme.New(withDefaults(gv.WithKind(kind), want)); err == nil {
			return reflect.TypeOf(obj)
		}
	}
	return reflect.TypeOf(into)
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
		return checkQuantity(s, path)
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

// checkQuantity refuses a quantity whose exponent is out of bounds.
func checkQuantity(s string, path *field.Path) error {
	if !hugeExponent(s) {
		return nil
	}
	return apierrors.NewBadRequest(field.Invalid(path, s, "quantity exponent must be between -"+strconv.Itoa(maxQuantityExponent)+" and "+strconv.Itoa(maxQuantityExponent)).Error())
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

// checkProtobufQuantities is checkQuantities for a protobuf body: it
// walks the wire format along the Go type's protobuf field numbers.
func checkProtobufQuantities(data []byte, scheme *runtime.Scheme, want schema.GroupVersionKind, into runtime.Object) error {
	if !mayHaveHugeExponent(data) || !bytes.HasPrefix(data, protobufMagic) {
		return nil
	}
	var unknown runtime.Unknown
	if err := unknown.Unmarshal(data[len(protobufMagic):]); err != nil {
		return nil // the decoder reports it
	}
	return checkProtobufIn(unknown.Raw, bodyType(scheme, unknown.APIVersion, unknown.Kind, want, into), nil)
}

var protobufMagic = []byte{0x6b, 0x38, 0x73, 0x00}

// protoField is a struct field by its protobuf field number.
type protoField struct {
	json string
	typ  reflect.Type
}

var protoFields sync.Map // reflect.Type -> map[uint64]protoField

func protoFieldsOf(t reflect.Type) map[uint64]protoField {
	if m, ok := protoFields.Load(t); ok {
		return m.(map[uint64]protoField)
	}
	m := map[uint64]protoField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		parts := strings.Split(f.Tag.Get("protobuf"), ",")
		if len(parts) < 2 {
			continue
		}
		n, err := strconv.ParseUint(parts[1], 10, 64)
		if err != nil {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		m[n] = protoField{json: name, typ: f.Type}
	}
	protoFields.Store(t, m)
	return m
}

// checkProtobufIn walks one protobuf message that decodes into t.
func checkProtobufIn(b []byte, t reflect.Type, path *field.Path) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == quantityType {
		s, _ := protoString(b, 1)
		return checkQuantity(s, path)
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	fields := protoFieldsOf(t)
	index := map[uint64]int{}
	return protoEach(b, func(num uint64, value []byte) error {
		f, ok := fields[num]
		if !ok {
			return nil
		}
		ft := f.typ
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft == quantityType || ft.Kind() == reflect.Struct:
			return checkProtobufIn(value, ft, childPath(path, f.json))
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.Uint8:
			i := index[num]
			index[num]++
			return checkProtobufIn(value, ft.Elem(), indexPath(childPath(path, f.json), i))
		case ft.Kind() == reflect.Map:
			// A map entry is a message: key 1, value 2.
			key, _ := protoString(value, 1)
			v, ok := protoBytes(value, 2)
			if !ok {
				return nil
			}
			return checkProtobufIn(v, ft.Elem(), keyPath(childPath(path, f.json), key))
		}
		return nil
	})
}

// protoEach calls fn with every length-delimited field of a message; it
// stops quietly at anything it cannot read (the decoder reports it).
func protoEach(b []byte, fn func(num uint64, value []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil
		}
		b = b[n:]
		switch key & 7 {
		case 0:
			_, n = binary.Uvarint(b)
			if n <= 0 {
				return nil
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return nil
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return nil
			}
			b = b[4:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return nil
			}
			if err := fn(key>>3, b[n:n+int(l)]); err != nil {
				return err
			}
			b = b[n+int(l):]
		default:
			return nil
		}
	}
	return nil
}

func protoBytes(b []byte, num uint64) ([]byte, bool) {
	var out []byte
	found := false
	_ = protoEach(b, func(n uint64, v []byte) error {
		if n == num {
			out, found = v, true
		}
		return nil
	})
	return out, found
}

func protoString(b []byte, num uint64) (string, bool) {
	v, ok := protoBytes(b, num)
	return string(v), ok
}
