package metrics

import runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

// series collects one container's (or pod's) metrics: the base label
// values (pod, namespace, container, id, image), one timestamp.
type series struct {
	base []string
	ts   int64
	out  []*runtimeapi.Metric
}

// add appends a metric whose label values are the base ones and extra,
// in its descriptor's order.
func (s *series) add(name string, kind runtimeapi.MetricType, v uint64, extra ...string) {
	labels := s.base
	if len(extra) > 0 {
		labels = append(append(make([]string, 0, len(s.base)+len(extra)), s.base...), extra...)
	}
	s.out = append(s.out, &runtimeapi.Metric{
		Name: name, Timestamp: s.ts, MetricType: kind, LabelValues: labels, Value: &runtimeapi.UInt64Value{Value: v},
	})
}
