// Package csitest is a CSI node plugin for tests: Identity and Node
// services (volumes staged and published as bind mounts of a directory
// per volume, every call recorded) and upstream's plugin registration
// service, served in process on unix sockets.
package csitest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// Call is one Node call the driver served (Stage, Unstage, Publish,
// Unpublish), with the request's volume and paths.
type Call struct {
	Method   string
	VolumeID string
	// Path is the staging path (Stage, Unstage) or target path (Publish,
	// Unpublish); StagingPath is Publish's staging path.
	Path, StagingPath string
	ReadOnly          bool
	FSType            string
	MountFlags        []string
	VolumeContext     map[string]string
	PublishContext    map[string]string
	Secrets           map[string]string
}

// Config describes the driver.
type Config struct {
	Name   string
	NodeID string
	// DataDir holds a directory per volume (DataDir/<volume id>): what a
	// volume's mounts show.
	DataDir    string
	MaxVolumes int64
	Topology   map[string]string
	// NoStage leaves out the STAGE_UNSTAGE_VOLUME capability.
	NoStage bool
}

// Driver is a running test driver.
type Driver struct {
	cfg Config
	// RegistrationSocket is the socket for the kubelet's plugins registry,
	// Endpoint the CSI socket.
	RegistrationSocket, Endpoint string

	mu         sync.Mutex
	calls      []Call
	fail       map[string]error // by method, once
	registered []*registerapi.RegistrationStatus

	servers []*grpc.Server
}

// Start serves the driver's CSI services on endpoint and its
// registration service on registrationSocket (in the kubelet's plugins
// registry directory). Stop ends both.
func Start(cfg Config, registrationSocket, endpoint string) (*Driver, error) {
	d := &Driver{cfg: cfg, RegistrationSocket: registrationSocket, Endpoint: endpoint, fail: map[string]error{}}
	csiSrv := grpc.NewServer()
	csipb.RegisterIdentityServer(csiSrv, identity{d: d})
	csipb.RegisterNodeServer(csiSrv, node{d: d})
	regSrv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(regSrv, registration{d: d})
	// The CSI socket first: the kubelet calls it as soon as it sees the
	// registration socket.
	for _, s := range []struct {
		srv  *grpc.Server
		path string
	}{{csiSrv, endpoint}, {regSrv, registrationSocket}} {
		if err := d.serve(s.srv, s.path); err != nil {
			d.Stop()
			return nil, err
		}
	}
	return d, nil
}

func (d *Driver) serve(srv *grpc.Server, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen %s: %w", path, err)
	}
	d.servers = append(d.servers, srv)
	go func() { _ = srv.Serve(l) }()
	return nil
}

// Stop ends the services and removes their sockets (the driver's
// registration goes with its socket).
func (d *Driver) Stop() {
	for _, s := range d.servers {
		s.Stop()
	}
	d.servers = nil
	_ = os.Remove(d.RegistrationSocket)
	_ = os.Remove(d.Endpoint)
}

// Calls are the Node calls served so far.
func (d *Driver) Calls() []Call {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

// Methods are the methods of Calls for volume id, in order.
func (d *Driver) Methods(id string) []string {
	var out []string
	for _, c := range d.Calls() {
		if c.VolumeID == id {
			out = append(out, c.Method)
		}
	}
	return out
}

// Registered is what the kubelet last said of the registration (nil
// before it said anything).
func (d *Driver) Registered() *registerapi.RegistrationStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.registered) == 0 {
		return nil
	}
	return d.registered[len(d.registered)-1]
}

// FailNext makes the next call of method (NodeStageVolume, ...) fail
// with msg (codes.Internal).
func (d *Driver) FailNext(method, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail[method] = status.Error(codes.Internal, msg)
}

// VolumeDir is the directory holding the volume's data.
func (d *Driver) VolumeDir(id string) string { return filepath.Join(d.cfg.DataDir, id) }

// volumeDir makes the volume's directory, writable by all as a fresh
// shared filesystem would be (pods write there as any user).
func (d *Driver) volumeDir(id string) (string, error) {
	p := d.VolumeDir(id)
	if err := os.MkdirAll(p, 0o750); err != nil {
		return "", err
	}
	return p, os.Chmod(p, 0o777)
}

// record notes a call, or fails it as FailNext asked.
func (d *Driver) record(c Call) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.fail[c.Method]; err != nil {
		delete(d.fail, c.Method)
		return err
	}
	d.calls = append(d.calls, c)
	return nil
}

var errNoVolume = status.Error(codes.InvalidArgument, "volume ID missing in request")

func required(id string, paths ...string) error {
	if id == "" {
		return errNoVolume
	}
	for _, p := range paths {
		if p == "" {
			return status.Error(codes.InvalidArgument, "path missing in request")
		}
	}
	return nil
}

func internal(err error) error {
	if err == nil {
		return nil
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return err
	}
	return status.Error(codes.Internal, err.Error())
}
