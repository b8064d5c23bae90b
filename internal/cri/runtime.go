package cri

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
	"github.com/kemudi/kemudi/internal/cri/network"
	"github.com/kemudi/kemudi/internal/cri/streaming"
	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// Options configure a Runtime.
type Options struct {
	// Root holds what survives a reboot: images/, sandboxes/, containers/,
	// supervisor/, network/. Default /var/lib/kemudi/agent/runtime.
	Root string
	// StateDir holds what does not: network namespace files. Default
	// /run/kemudi/runtime.
	StateDir string
	// PodCIDR is the node's pod range; "" until UpdateRuntimeConfig.
	PodCIDR        string
	RegistryConfig string
	// CNIConfDir and CNIBinDir, both set, hand the pod network to a CNI
	// plugin chain.
	CNIConfDir, CNIBinDir string
	// OCIRuntime is an OCI runtime binary (runc) to use instead of the
	// built-in libcontainer.
	OCIRuntime string
	// CgroupParent holds the cgroups of pods whose config names no parent
	// (crictl's); default /kemudi.
	CgroupParent string
	// SupervisorBinary overrides where kemudi-supervisor comes from (see
	// supervisor.Options.Binary).
	SupervisorBinary string
	// StreamAddress is where the streaming server (exec, attach,
	// port-forward URLs) listens; default 127.0.0.1:0.
	StreamAddress string
	Log           *slog.Logger
}

// Default locations.
const (
	DefaultRoot     = "/var/lib/kemudi/agent/runtime"
	DefaultStateDir = "/run/kemudi/runtime"
	DefaultSocket   = "/run/kemudi/cri.sock"
	// DefaultCgroupParent holds the cgroups of pods whose config names no
	// parent (crictl's).
	DefaultCgroupParent = "/kemudi"
)

// The parts a Runtime is assembled from, as narrow as the CRI layer needs
// them.
type (
	imageStore interface {
		Pull(ctx context.Context, ref string, auth *image.Auth) (image.Image, error)
		Import(ctx context.Context, r io.Reader) ([]image.Image, error)
		List() []image.Image
		Get(ref string) (image.Image, error)
		Remove(ref string) error
		PrepareRootfs(ctx context.Context, key, imageID string) (image.Rootfs, error)
		RemoveRootfs(key string) error
		RootfsUsage(key string) (image.Usage, error)
		FsInfo() (image.FsInfo, error)
		Root() string
	}
	podNetwork interface {
		SetPodCIDR(cidr string) error
		Status() error
		Setup(ctx context.Context, sb network.SandboxNet) (network.Result, error)
		Teardown(ctx context.Context, sb network.SandboxNet) error
		Reconcile(ctx context.Context, live []string) error
		Close() error
	}
	containerSupervisor interface {
		CreateSandbox(ctx context.Context, s supervisor.SandboxSpec) (supervisor.Sandbox, error)
		RemoveSandbox(ctx context.Context, id string) error
		Create(ctx context.Context, s supervisor.ContainerSpec) (supervisor.State, error)
		Start(ctx context.Context, id string) (supervisor.State, error)
		Signal(ctx context.Context, id string, sig syscall.Signal) error
		State(ctx context.Context, id string) (supervisor.State, error)
		List(ctx context.Context) ([]supervisor.State, error)
		Delete(ctx context.Context, id string) error
		Update(ctx context.Context, id string, r *specs.LinuxResources) error
		Stats(ctx context.Context, id string) (supervisor.Stats, error)
		ReopenLog(ctx context.Context, id string) error
		Events(ctx context.Context) (<-chan supervisor.Event, error)
		Close() error
	}
)

// Runtime is the CRI runtime. The same value serves gRPC (Serve) and is
// called directly by an in-process kubelet: it implements
// runtimeapi.RuntimeServiceServer and runtimeapi.ImageServiceServer.
type Runtime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	runtimeapi.UnimplementedImageServiceServer

	opts       Options
	log        *slog.Logger
	images     imageStore
	network    podNetwork
	supervisor containerSupervisor
	streaming  *streaming.Server

	sandboxes  *store[sandbox]
	containers *store[container]
	locks      keyedMutex
	events     broker
	stats      statsCache
	metrics    metricsSource

	swapAvailable  bool
	minOOMScoreAdj int
	hostCaps       []string // the runtime's bounding set

	// builds: each build holds it for reading, prune for writing, so
	// that no prune removes a step image a running build is about to use.
	builds sync.RWMutex

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ runtimeapi.RuntimeServiceServer = (*Runtime)(nil)
	_ runtimeapi.ImageServiceServer   = (*Runtime)(nil)
)

// New opens the image store, the pod network and the supervisor (starting
// it when none runs), loads the sandboxes and containers recorded by an
// earlier run, and reconciles them with what still exists.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.Root == "" {
		opts.Root = DefaultRoot
	}
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir
	}
	if opts.CgroupParent == "" {
		opts.CgroupParent = DefaultCgroupParent
	}
	if !strings.HasPrefix(opts.CgroupParent, "/") {
		return nil, fmt.Errorf("runtime: cgroup parent %q is not an absolute cgroupfs path", opts.CgroupParent)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	log := opts.Log.With("component", "cri")
	for _, d := range []string{opts.Root, opts.StateDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	r := &Runtime{
		opts:           opts,
		log:            log,
		sandboxes:      newStore(filepath.Join(opts.Root, "sandboxes"), "sandbox.json", sandboxID),
		containers:     newStore(filepath.Join(opts.Root, "containers"), "container.json", containerID),
		swapAvailable:  swapAccounted(),
		minOOMScoreAdj: ownOOMScoreAdj(),
		hostCaps:       hostCapabilities(),
	}
	ok := false
	defer func() {
		if !ok {
			r.closeParts()
		}
	}()
	imgs, err := image.Open(image.Options{Root: filepath.Join(opts.Root, "images"), RegistryConfig: opts.RegistryConfig, Log: opts.Log})
	if err != nil {
		return nil, fmt.Errorf("runtime: open images: %w", err)
	}
	r.images = imgs
	net, err := network.New(network.Options{
		StateDir: filepath.Join(opts.Root, "network"), PodCIDR: opts.PodCIDR,
		CNIConfDir: opts.CNIConfDir, CNIBinDir: opts.CNIBinDir, Log: opts.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("runtime: open network: %w", err)
	}
	r.network = net
	sup, err := supervisor.Connect(ctx, supervisor.Options{
		Root: filepath.Join(opts.Root, "supervisor"), Binary: opts.SupervisorBinary,
		OCIRuntime: opts.OCIRuntime, Log: opts.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("runtime: connect to the supervisor: %w", err)
	}
	r.supervisor = sup
	if err := r.sandboxes.load(); err != nil {
		return nil, fmt.Errorf("runtime: load sandboxes: %w", err)
	}
	if err := r.containers.load(); err != nil {
		return nil, fmt.Errorf("runtime: load containers: %w", err)
	}
	if err := r.reconcile(ctx); err != nil {
		return nil, fmt.Errorf("runtime: reconcile: %w", err)
	}
	if err := r.startStreaming(); err != nil {
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.followSupervisor(loopCtx)
	}()
	r.removeBuildLeftovers(ctx)
	ok = true
	log.Info("runtime ready", "root", opts.Root, "sandboxes", len(r.sandboxes.list()), "containers", len(r.containers.list()))
	return r, nil
}

// Close stops following the supervisor and lets go of the parts; every
// sandbox and container keeps running.
func (r *Runtime) Close() error {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	r.events.closeAll()
	err := r.closeParts()
	r.removeDefaultCgroupParent()
	return err
}

func (r *Runtime) closeParts() error {
	var errs []error
	if r.streaming != nil {
		errs = append(errs, r.streaming.Close())
	}
	if r.supervisor != nil {
		errs = append(errs, r.supervisor.Close())
	}
	if r.network != nil {
		errs = append(errs, r.network.Close())
	}
	return errors.Join(errs...)
}

// netnsDir holds the network namespaces' bind mounts.
func (r *Runtime) netnsDir() string { return filepath.Join(r.opts.StateDir, "netns") }

// swapAccounted says whether swap can be limited: cgroup v1 with
// swapaccount, or v2.
func swapAccounted() bool {
	for _, p := range []string{"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "/sys/fs/cgroup/memory.swap.max"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// ownOOMScoreAdj is the runtime's own oom_score_adj: containers may not
// go below it here.
func ownOOMScoreAdj() int {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return v
}

// keyedMutex serializes the verbs on one sandbox or container.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedEntry{}
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// now is the time records and events carry.
func now() int64 { return time.Now().UnixNano() }
