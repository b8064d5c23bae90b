package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Runtime is the part of the CRI the node needs.
type Runtime interface {
	Version(ctx context.Context, in *runtimeapi.VersionRequest, opts ...grpc.CallOption) (*runtimeapi.VersionResponse, error)
	Status(ctx context.Context, in *runtimeapi.StatusRequest, opts ...grpc.CallOption) (*runtimeapi.StatusResponse, error)
	UpdateRuntimeConfig(ctx context.Context, in *runtimeapi.UpdateRuntimeConfigRequest, opts ...grpc.CallOption) (*runtimeapi.UpdateRuntimeConfigResponse, error)
	ListImages(ctx context.Context, in *runtimeapi.ListImagesRequest, opts ...grpc.CallOption) (*runtimeapi.ListImagesResponse, error)
}

// Config is what the node agent is built from.
type Config struct {
	Name           string
	Client         kubernetes.Interface
	Runtime        Runtime
	Recorder       record.EventRecorder
	Labels         map[string]string
	Taints         []corev1.Taint
	NodeIPs        []net.IP
	KubeReserved   corev1.ResourceList
	SystemReserved corev1.ResourceList
	MaxPods        int64
	DataDir        string // its filesystem is the node's ephemeral storage
	KubeletVersion string
	// KubeletPort is where the kubelet's API listens (status.daemonEndpoints);
	// 0 reports none.
	KubeletPort int32
	// StatusInterval is how often the status is computed (written only
	// when it changed, or every ReportInterval); LeaseInterval how often
	// the Lease is renewed; LeaseDuration its leaseDurationSeconds.
	StatusInterval, ReportInterval, LeaseInterval time.Duration
	LeaseDuration                                 int32
	// Pressure, if set, gives the pressure conditions (the eviction
	// manager's) and EvictionReserve what the hard eviction thresholds
	// take off allocatable for a capacity; see Facts.
	Pressure        func() map[corev1.NodeConditionType]bool
	EvictionReserve func(capacity corev1.ResourceList) corev1.ResourceList
	// VolumesInUse, if set, names the attachable volumes the node's pods
	// use (status.volumesInUse); see Facts.
	VolumesInUse func() []corev1.UniqueVolumeName
	Log          *slog.Logger
}

// Agent keeps the Node object and its Lease.
type Agent struct {
	cfg    Config
	info   Info
	lister func() (*corev1.Node, bool)

	mu          sync.Mutex
	node        *corev1.Node // the latest seen
	lastReport  time.Time
	appliedCIDR string
	wasReady    *bool
	runtimeName string
	goneTold    bool // the Node's deletion was logged
	changed     chan struct{}
}

// New builds an agent; Run starts it.
func New(cfg Config) *Agent {
	return &Agent{cfg: cfg, info: ReadInfo(), changed: make(chan struct{}, 1)}
}

// Node is the node as last seen (nil before registration).
func (a *Agent) Node() *corev1.Node {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.node
}

// RuntimeName is the runtime's name from the CRI Version call
// ("containerd"), which prefixes container IDs in pod statuses.
func (a *Agent) RuntimeName() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runtimeName
}

// Run registers the node, then keeps its status, lease and pod CIDR
// until ctx ends. ready is closed once the node is registered.
func (a *Agent) Run(ctx context.Context, ready chan<- struct{}) error {
	log := a.cfg.Log
	a.cfg.Recorder.Eventf(a.ref(), corev1.EventTypeNormal, "Starting", "Starting kubelet.")
	for {
		err := a.register(ctx)
		if err == nil {
			break
		}
		log.Error("register node", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	close(ready)
	f := informers.NewSharedInformerFactoryWithOptions(a.cfg.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", a.cfg.Name).String()
	}))
	inf := f.Core().V1().Nodes().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.seen(obj) },
		UpdateFunc: func(_, obj any) { a.seen(obj) },
		DeleteFunc: func(any) { a.tellGone() },
	})
	f.Start(ctx.Done())
	go a.leaseLoop(ctx)
	t := time.NewTicker(a.cfg.StatusInterval)
	defer t.Stop()
	started := time.Now()
	for {
		a.syncCIDR(ctx)
		err := a.syncStatus(ctx)
		// The informer lists this node only: empty once synced, it is gone.
		gone := inf.HasSynced() && len(inf.GetStore().List()) == 0
		switch {
		case ctx.Err() != nil:
		case gone || errors.Is(err, errNodeGone):
			a.tellGone()
		case err == nil:
		default:
			log.Warn("node status", "err", err)
		}
		select {
		case <-ctx.Done():
			f.Shutdown()
			return nil
		case <-t.C:
		case <-a.changed:
		case <-a.startupPoll(started):
		}
	}
}

// Until the node is first Ready, its status is computed every
// startupPollInterval rather than every StatusInterval, for at most
// startupPollFor, as upstream's kubelet does at start: what it waits on
// (the runtime's network once the pod CIDR is handed over, or a CNI
// configuration written later) says nothing to the agent when it
// changes, and a user waits on the node's Ready.
const (
	startupPollInterval = 100 * time.Millisecond
	startupPollFor      = 2 * time.Minute
)

// startupPoll is a channel that fires after startupPollInterval while
// the node, as last written or seen, is not Ready, for startupPollFor
// after the agent started; nil otherwise.
func (a *Agent) startupPoll(started time.Time) <-chan time.Time {
	n := a.Node()
	if n != nil && nodeReady(n.Status) || time.Since(started) >= startupPollFor {
		return nil
	}
	return time.After(startupPollInterval)
}

// nodeReady tells whether a status says Ready.
func nodeReady(st corev1.NodeStatus) bool {
	for _, c := range st.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// errNodeGone: the Node this agent registered was deleted. Like
// upstream's kubelet, the agent registers only when it starts; until
// then it says so rather than bring the Node back.
var errNodeGone = errors.New("the node was deleted")

// tellGone says once that the Node was deleted: a removed machine's
// agent may run on for long.
func (a *Agent) tellGone() {
	a.mu.Lock()
	told := a.goneTold
	a.goneTold = true
	a.mu.Unlock()
	if told {
		return
	}
	a.cfg.Log.Error("node deleted from the cluster: this machine was removed (kemudi node remove) or its Node deleted; its pods are no longer the cluster's. "+
		"To join again: stop the agent, delete its node certificate (agent/kubelet.kubeconfig in its data dir) and start it again with --server and --token-file",
		"node", a.cfg.Name)
}

// Refresh asks for the status to be computed (and written if it
// changed) now rather than at the next interval.
func (a *Agent) Refresh() {
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

func (a *Agent) seen(obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	a.mu.Lock()
	a.node = n
	cidrChanged := podCIDR(n) != a.appliedCIDR
	a.mu.Unlock()
	if cidrChanged {
		select {
		case a.changed <- struct{}{}:
		default:
		}
	}
}

func (a *Agent) ref() *corev1.ObjectReference {
	// Upstream names the node's events with the node name as its UID.
	return &corev1.ObjectReference{Kind: "Node", Name: a.cfg.Name, UID: types.UID(a.cfg.Name)}
}

func podCIDR(n *corev1.Node) string {
	if len(n.Spec.PodCIDRs) > 0 {
		return strings.Join(n.Spec.PodCIDRs, ",")
	}
	return n.Spec.PodCIDR
}

// register creates the Node, or adopts the existing one with our labels.
func (a *Agent) register(ctx context.Context) error {
	facts := a.facts(ctx)
	labels := map[string]string{
		corev1.LabelHostname:   a.cfg.Name,
		corev1.LabelOSStable:   runtime.GOOS,
		corev1.LabelArchStable: runtime.GOARCH,
	}
	for k, v := range a.cfg.Labels {
		labels[k] = v
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: a.cfg.Name, Labels: labels,
			Annotations: map[string]string{"volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
		Spec:   corev1.NodeSpec{Taints: a.cfg.Taints},
		Status: ComputeStatus(facts, corev1.NodeStatus{}, metav1.Now()),
	}
	nodes := a.cfg.Client.CoreV1().Nodes()
	created, err := nodes.Create(ctx, n, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		old, gerr := nodes.Get(ctx, a.cfg.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("get node %s: %w", a.cfg.Name, gerr)
		}
		upd := old.DeepCopy()
		if upd.Labels == nil {
			upd.Labels = map[string]string{}
		}
		for k, v := range labels {
			upd.Labels[k] = v
		}
		if !reflect.DeepEqual(upd.Labels, old.Labels) {
			if upd, err = nodes.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update node %s: %w", a.cfg.Name, err)
			}
		}
		created, err = upd, nil
	}
	if err != nil {
		return fmt.Errorf("create node %s: %w", a.cfg.Name, err)
	}
	a.mu.Lock()
	a.node = created
	a.mu.Unlock()
	a.cfg.Log.Info("node registered", "node", a.cfg.Name)
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady && c.Status == corev1.ConditionFalse {
			// KubeletHasSufficientMemory → NodeHasSufficientMemory, as upstream.
			reason := "Node" + strings.TrimPrefix(c.Reason, "Kubelet")
			a.cfg.Recorder.Eventf(a.ref(), corev1.EventTypeNormal, reason, "Node %s status is now: %s", a.cfg.Name, reason)
		}
	}
	return nil
}

// facts asks the machine and the runtime.
func (a *Agent) facts(ctx context.Context) Facts {
	f := Facts{
		Info: a.info, KubeletVersion: a.cfg.KubeletVersion, MaxPods: a.cfg.MaxPods,
		KubeReserved: a.cfg.KubeReserved, SystemReserved: a.cfg.SystemReserved,
		Addresses: Addresses(a.cfg.NodeIPs, a.cfg.Name), KubeletPort: a.cfg.KubeletPort,
	}
	m, err := ReadMachine(a.cfg.DataDir)
	if err != nil {
		a.cfg.Log.Warn("read machine", "err", err)
	}
	f.Machine = m
	if a.cfg.Pressure != nil {
		f.Pressure = a.cfg.Pressure()
	}
	if a.cfg.EvictionReserve != nil {
		f.EvictionReserve = a.cfg.EvictionReserve(Capacity(m, a.cfg.MaxPods))
	}
	if a.cfg.VolumesInUse != nil {
		f.VolumesInUse = a.cfg.VolumesInUse()
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if v, err := a.cfg.Runtime.Version(cctx, &runtimeapi.VersionRequest{}); err != nil {
		f.RuntimeErr = err
	} else {
		f.RuntimeVersion = v.RuntimeName + "://" + v.RuntimeVersion
		a.mu.Lock()
		a.runtimeName = v.RuntimeName
		a.mu.Unlock()
	}
	if f.RuntimeErr == nil {
		if st, err := a.cfg.Runtime.Status(cctx, &runtimeapi.StatusRequest{}); err != nil {
			f.RuntimeErr = err
		} else {
			f.RuntimeStatus, f.RuntimeHandlers = st.Status, st.RuntimeHandlers
		}
		if imgs, err := a.cfg.Runtime.ListImages(cctx, &runtimeapi.ListImagesRequest{}); err == nil {
			f.Images = imgs.Images
		}
	}
	return f
}

// syncStatus writes the status when it changed or is due for a report.
func (a *Agent) syncStatus(ctx context.Context) error {
	cur := a.Node()
	if cur == nil {
		return nil
	}
	now := metav1.Now()
	st := ComputeStatus(a.facts(ctx), cur.Status, now)
	a.mu.Lock()
	due := time.Since(a.lastReport) >= a.cfg.ReportInterval
	a.mu.Unlock()
	if !due && sameStatus(st, cur.Status) {
		return nil
	}
	upd := cur.DeepCopy()
	upd.Status = st
	out, err := a.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// Someone else wrote the node (the pod CIDR, a taint): once more
		// on the latest.
		latest, gerr := a.cfg.Client.CoreV1().Nodes().Get(ctx, a.cfg.Name, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("get node %s: %w", a.cfg.Name, gerr)
		}
		upd = latest.DeepCopy()
		upd.Status = ComputeStatus(a.facts(ctx), latest.Status, now)
		out, err = a.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("update status of node %s: %w", a.cfg.Name, errNodeGone)
	}
	if err != nil {
		return fmt.Errorf("update status of node %s: %w", a.cfg.Name, err)
	}
	a.mu.Lock()
	a.node, a.lastReport = out, time.Now()
	a.mu.Unlock()
	a.recordReady(st)
	return nil
}

// recordReady records NodeReady / NodeNotReady when Ready changes.
func (a *Agent) recordReady(st corev1.NodeStatus) {
	for _, c := range st.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		ready := c.Status == corev1.ConditionTrue
		if a.wasReady != nil && *a.wasReady == ready {
			return
		}
		a.wasReady = &ready
		reason := "NodeNotReady"
		if ready {
			reason = "NodeReady"
		}
		a.cfg.Recorder.Eventf(a.ref(), corev1.EventTypeNormal, reason, "Node %s status is now: %s", a.cfg.Name, reason)
	}
}

// sameStatus compares statuses without heartbeat times.
func sameStatus(a, b corev1.NodeStatus) bool {
	strip := func(s corev1.NodeStatus) corev1.NodeStatus {
		s = *s.DeepCopy()
		for i := range s.Conditions {
			s.Conditions[i].LastHeartbeatTime = metav1.Time{}
			s.Conditions[i].LastTransitionTime = metav1.Time{}
		}
		// Free memory and disk move all the time; upstream reports
		// capacity and allocatable, which do not.
		return s
	}
	x, y := strip(a), strip(b)
	return equalish(x, y)
}

func equalish(a, b corev1.NodeStatus) bool {
	if len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		if a.Conditions[i] != b.Conditions[i] {
			return false
		}
	}
	// volumesInUse is written at once: a detach waits for it.
	return reflect.DeepEqual(a.Addresses, b.Addresses) && a.NodeInfo == b.NodeInfo && reflect.DeepEqual(a.RuntimeHandlers, b.RuntimeHandlers) &&
		slices.Equal(a.VolumesInUse, b.VolumesInUse) &&
		reflect.DeepEqual(a.Images, b.Images) && quantitiesEqual(a.Capacity, b.Capacity) && quantitiesEqual(a.Allocatable, b.Allocatable)
}

func quantitiesEqual(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// syncCIDR hands a new pod CIDR to the runtime.
func (a *Agent) syncCIDR(ctx context.Context) {
	n := a.Node()
	if n == nil {
		return
	}
	cidr := podCIDR(n)
	a.mu.Lock()
	applied := a.appliedCIDR
	a.mu.Unlock()
	if cidr == "" || cidr == applied {
		return
	}
	_, err := a.cfg.Runtime.UpdateRuntimeConfig(ctx, &runtimeapi.UpdateRuntimeConfigRequest{
		RuntimeConfig: &runtimeapi.RuntimeConfig{NetworkConfig: &runtimeapi.NetworkConfig{PodCidr: cidr}},
	})
	if err != nil {
		a.cfg.Log.Warn("hand pod CIDR to the runtime", "cidr", cidr, "err", err)
		return
	}
	a.cfg.Log.Info("pod CIDR handed to the runtime", "cidr", cidr)
	a.mu.Lock()
	a.appliedCIDR = cidr
	a.mu.Unlock()
}
