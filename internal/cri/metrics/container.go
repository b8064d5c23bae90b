package metrics

import (
	"errors"
	"fmt"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Collector reads containers' figures on this host.
type Collector struct {
	h        Hierarchy
	procRoot string // /proc
	sysRoot  string // /sys

	mu      sync.Mutex
	devices map[[2]uint64]string // major:minor → name, which do not change
}

// NewCollector finds the host's cgroup trees.
func NewCollector() (*Collector, error) {
	h, err := DetectHierarchy()
	if err != nil {
		return nil, err
	}
	return &Collector{h: h, procRoot: "/proc", sysRoot: "/sys", devices: map[[2]uint64]string{}}, nil
}

// Container is what names a running container and locates its figures.
type Container struct {
	Pod
	Name, ID, Image string
	// CgroupPath is the container's cgroupsPath (/kemudi/<pod>/<id>).
	CgroupPath string
	Pid        int // the init's, for its limits
	StartedAt  time.Time
	Layer      *Layer // nil when unknown
}

// figures are everything read of one container.
type figures struct {
	cpu      cpuFigures
	memory   memoryFigures
	procs    processFigures
	pressure pressureFigures
	blkio    blkioFigures
}

// Filesystem reads the filesystem holding dir (a container's writable
// layer).
func (c *Collector) Filesystem(dir string) (Filesystem, error) {
	return statFilesystem(c.sysRoot, dir)
}

// Container reads a container's figures and builds its metrics. An error
// means the container's cgroup is gone (it exited meanwhile).
func (c *Collector) Container(in Container, now time.Time) (*runtimeapi.ContainerMetrics, error) {
	f, err := c.read(in)
	if err != nil {
		return nil, err
	}
	return buildContainer(in, f, now, c.deviceName), nil
}

func (c *Collector) read(in Container) (figures, error) {
	d := c.h.dirs(in.CgroupPath)
	var f figures
	var errCPU, errMem, errProcs error
	f.cpu, errCPU = readCPU(d)
	f.memory, errMem = readMemory(d)
	f.procs, errProcs = readProcesses(d, c.procRoot, in.Pid)
	if err := errors.Join(errCPU, errMem, errProcs); err != nil {
		return figures{}, fmt.Errorf("container %s: %w", in.ID, err)
	}
	f.pressure = readPressure(d)
	f.blkio = readBlkio(d)
	return f, nil
}

func (c *Collector) deviceName(major, minor uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]uint64{major, minor}
	if n, ok := c.devices[k]; ok {
		return n
	}
	n := deviceName(c.sysRoot, major, minor)
	c.devices[k] = n
	return n
}

// buildContainer turns a container's figures into its metrics.
func buildContainer(in Container, f figures, now time.Time, names func(major, minor uint64) string) *runtimeapi.ContainerMetrics {
	s := series{base: []string{in.Pod.Name, in.Namespace, in.Name, in.ID, in.Image}, ts: now.UnixNano()}
	s.add("container_last_seen", gauge, uint64(now.Unix()))
	if !in.StartedAt.IsZero() {
		s.add("container_start_time_seconds", gauge, uint64(in.StartedAt.Unix()))
	}
	s.cpu(f.cpu)
	s.memory(f.memory)
	s.pressure(f.pressure)
	s.processes(f.procs)
	s.fs(in.Layer, f.blkio, names)
	return &runtimeapi.ContainerMetrics{ContainerId: in.ID, Metrics: s.out}
}
