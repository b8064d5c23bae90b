package controller

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Context is what a controller is built from. Informers are shared by all
// controllers of one manager: start them after building every controller
// (the manager does).
type Context struct {
	Client kubernetes.Interface
	// Config is the client config Client was built from, for controllers
	// that need other clients (metadata, dynamic: the garbage collector,
	// the namespace controller). Nil in unit tests that build a Context
	// on a fake clientset.
	Config    *rest.Config
	Informers informers.SharedInformerFactory
	Log       *slog.Logger
	// Broadcaster sends the events controllers record to the API.
	Broadcaster record.EventBroadcaster
	// Options are the settings of individual controllers.
	Options Options
	// Clock is the controllers' time (tests step a fake one).
	Clock clock.Clock
	// Metrics, when set, count every loop's work queue (/metrics).
	Metrics workqueue.MetricsProvider
}

// NewContext builds a controller context on a client.
func NewContext(client kubernetes.Interface, log *slog.Logger) *Context {
	b := record.NewBroadcaster()
	return &Context{
		Client:      client,
		Informers:   informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(TrimManagedFields)),
		Log:         log,
		Broadcaster: b,
		Options:     DefaultOptions(),
		Clock:       clock.RealClock{},
	}
}

// NewLoop returns a controller's loop, its queue counted in c.Metrics
// under name.
func (c *Context) NewLoop(name string, sync Sync, log *slog.Logger) *Loop {
	return newLoop(name, sync, log, workqueue.DefaultTypedControllerRateLimiter[string](), c.Metrics)
}

// NewLoopWithLimiter is NewLoop with a rate limiter of the controller's
// own (upstream's namespace controller backs off to a minute at most).
func (c *Context) NewLoopWithLimiter(name string, sync Sync, log *slog.Logger, limiter workqueue.TypedRateLimiter[string]) *Loop {
	return newLoop(name, sync, log, limiter, c.Metrics)
}

// StartEvents starts sending recorded events; stop them when ctx ends.
func (c *Context) StartEvents(ctx context.Context) {
	c.Broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.Client.CoreV1().Events("")})
	go func() {
		<-ctx.Done()
		c.Broadcaster.Shutdown()
	}()
}

// Recorder returns an event recorder reporting as component (upstream's
// names: "deployment-controller", "replicaset-controller", ...).
func (c *Context) Recorder(component string) record.EventRecorder {
	return c.Broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})
}

// Logger returns the log of one controller.
func (c *Context) Logger(name string) *slog.Logger {
	return c.Log.With("controller", name)
}

// TrimManagedFields drops managedFields from objects entering informer
// caches, as upstream's controller manager does: no controller reads them
// and they are often the larger half of an object.
func TrimManagedFields(obj interface{}) (interface{}, error) {
	if m, err := meta.Accessor(obj); err == nil && m.GetManagedFields() != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
