package storage

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/kemudi/kemudi/internal/storage/encryption"
)

// codec turns objects into the bytes stored in etcd and back. Built-in
// objects are stored as Kubernetes protobuf (the "k8s\x00" envelope), custom
// objects (Unstructured) as JSON, as upstream does; a stored value is JSON
// when it starts with '{'. The resourceVersion is never stored: it is the
// etcd revision.
type codec struct {
	proto *protobuf.Serializer
	// transformers encrypt the values of the resources they name.
	transformers encryption.Transformers
}

type runtimeObject = runtime.Object

func newCodec(scheme *runtime.Scheme) *codec {
	return &codec{proto: protobuf.NewSerializer(scheme, scheme)}
}

// encode serializes obj without its resourceVersion. obj must carry its
// apiVersion and kind.
func (c *codec) encode(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	rv := m.GetResourceVersion()
	if rv != "" {
		m.SetResourceVersion("")
		defer m.SetResourceVersion(rv)
	}
	if u, ok := obj.(*unstructured.Unstructured); ok {
		data, err := u.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", u.GroupVersionKind(), err)
		}
		return data, nil
	}
	var buf bytes.Buffer
	if err := c.proto.Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("encode %s: %w", obj.GetObjectKind().GroupVersionKind(), err)
	}
	return buf.Bytes(), nil
}

// decode parses stored bytes, setting the object's resourceVersion to rev.
func (c *codec) decode(data []byte, rev int64) (runtime.Object, error) {
	if len(data) > 0 && data[0] == '{' {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("decode stored JSON object: %w", err)
		}
		if err := setRV(u, rev); err != nil {
			return nil, err
		}
		return u, nil
	}
	obj, gvk, err := c.proto.Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decode stored object: %w", err)
	}
	obj.GetObjectKind().SetGroupVersionKind(*gvk)
	if err := setRV(obj, rev); err != nil {
		return nil, err
	}
	return obj, nil
}

func setRV(obj runtime.Object, rev int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	m.SetResourceVersion(formatRV(rev))
	return nil
}
