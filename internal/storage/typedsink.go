package storage

import "k8s.io/apimachinery/pkg/runtime"

// TypedSink is a Sink for the objects of one Go type T: set and del get
// each object, reset the whole list. Objects of any other type are passed
// over.
func TypedSink[T runtime.Object](set, del func(T), reset func([]T)) Sink {
	return Sink{
		Set: func(o runtime.Object) {
			if t, ok := o.(T); ok {
				set(t)
			}
		},
		Delete: func(o runtime.Object) {
			if t, ok := o.(T); ok {
				del(t)
			}
		},
		Reset: func(objs []runtime.Object) {
			ts := make([]T, 0, len(objs))
			for _, o := range objs {
				if t, ok := o.(T); ok {
					ts = append(ts, t)
				}
			}
			reset(ts)
		},
	}
}
