package metrics

import (
	"context"
	"path"
	"strings"
	"time"
	"unicode"

	"google.golang.org/grpc"
)

// opExceptions are upstream's operation names that do not follow from
// the CRI method's name.
var opExceptions = map[string]string{
	"UpdateContainerResources": "update_container",
}

// OperationType is upstream's operation_type label of a CRI method
// ("/runtime.v1.RuntimeService/ListPodSandbox" is list_podsandbox).
func OperationType(fullMethod string) string {
	name := path.Base(fullMethod)
	if op, ok := opExceptions[name]; ok {
		return op
	}
	// Upstream writes "podsandbox" as one word.
	name = strings.ReplaceAll(name, "PodSandbox", "Podsandbox")
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Instrument wraps a CRI connection so that every call it makes counts
// in kubelet_runtime_operations_*; nil metrics leave it as it is.
func (m *Metrics) Instrument(conn grpc.ClientConnInterface) grpc.ClientConnInterface {
	if m == nil {
		return conn
	}
	return instrumented{conn, m}
}

type instrumented struct {
	grpc.ClientConnInterface
	m *Metrics
}

func (c instrumented) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	start := time.Now()
	err := c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
	c.m.RuntimeOperation(OperationType(method), start, err)
	if method == createContainerMethod {
		c.m.imageVolumes.createContainer(args, err)
	}
	return err
}

// NewStream counts the opening of a stream (container events): its
// duration is the time to open it, not its life.
func (c instrumented) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	start := time.Now()
	s, err := c.ClientConnInterface.NewStream(ctx, desc, method, opts...)
	c.m.RuntimeOperation(OperationType(method), start, err)
	return s, err
}
