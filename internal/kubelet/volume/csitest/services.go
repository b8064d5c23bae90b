package csitest

import (
	"context"
	"fmt"
	"os"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"github.com/kemudi/kemudi/internal/kubelet/volume"
)

type registration struct {
	registerapi.UnimplementedRegistrationServer
	d *Driver
}

func (r registration) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: r.d.cfg.Name, Endpoint: r.d.Endpoint, SupportedVersions: []string{"1.0.0"}}, nil
}

func (r registration) NotifyRegistrationStatus(_ context.Context, s *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	r.d.mu.Lock()
	r.d.registered = append(r.d.registered, s)
	r.d.mu.Unlock()
	return &registerapi.RegistrationStatusResponse{}, nil
}

type identity struct {
	csipb.UnimplementedIdentityServer
	d *Driver
}

func (i identity) GetPluginInfo(context.Context, *csipb.GetPluginInfoRequest) (*csipb.GetPluginInfoResponse, error) {
	return &csipb.GetPluginInfoResponse{Name: i.d.cfg.Name, VendorVersion: "0.1.0"}, nil
}

func (i identity) Probe(context.Context, *csipb.ProbeRequest) (*csipb.ProbeResponse, error) {
	return &csipb.ProbeResponse{Ready: wrapperspb.Bool(true)}, nil
}

func (i identity) GetPluginCapabilities(context.Context, *csipb.GetPluginCapabilitiesRequest) (*csipb.GetPluginCapabilitiesResponse, error) {
	var caps []*csipb.PluginCapability
	if len(i.d.cfg.Topology) > 0 {
		caps = append(caps, &csipb.PluginCapability{Type: &csipb.PluginCapability_Service_{Service: &csipb.PluginCapability_Service{
			Type: csipb.PluginCapability_Service_VOLUME_ACCESSIBILITY_CONSTRAINTS}}})
	}
	return &csipb.GetPluginCapabilitiesResponse{Capabilities: caps}, nil
}

type node struct {
	csipb.UnimplementedNodeServer
	d *Driver
}

func (n node) NodeGetInfo(context.Context, *csipb.NodeGetInfoRequest) (*csipb.NodeGetInfoResponse, error) {
	resp := &csipb.NodeGetInfoResponse{NodeId: n.d.cfg.NodeID, MaxVolumesPerNode: n.d.cfg.MaxVolumes}
	if len(n.d.cfg.Topology) > 0 {
		resp.AccessibleTopology = &csipb.Topology{Segments: n.d.cfg.Topology}
	}
	return resp, nil
}

func (n node) NodeGetCapabilities(context.Context, *csipb.NodeGetCapabilitiesRequest) (*csipb.NodeGetCapabilitiesResponse, error) {
	resp := &csipb.NodeGetCapabilitiesResponse{}
	if !n.d.cfg.NoStage {
		resp.Capabilities = append(resp.Capabilities, &csipb.NodeServiceCapability{Type: &csipb.NodeServiceCapability_Rpc{
			Rpc: &csipb.NodeServiceCapability_RPC{Type: csipb.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME}}})
	}
	return resp, nil
}

func mountOf(c *csipb.VolumeCapability) (string, []string) {
	m := c.GetMount()
	return m.GetFsType(), m.GetMountFlags()
}

func (n node) NodeStageVolume(_ context.Context, r *csipb.NodeStageVolumeRequest) (*csipb.NodeStageVolumeResponse, error) {
	if err := required(r.GetVolumeId(), r.GetStagingTargetPath()); err != nil {
		return nil, err
	}
	if r.GetVolumeCapability() == nil {
		return nil, status.Error(codes.InvalidArgument, "volume capability missing in request")
	}
	fs, flags := mountOf(r.GetVolumeCapability())
	if err := n.d.record(Call{Method: "NodeStageVolume", VolumeID: r.GetVolumeId(), Path: r.GetStagingTargetPath(), FSType: fs, MountFlags: flags,
		VolumeContext: r.GetVolumeContext(), PublishContext: r.GetPublishContext(), Secrets: r.GetSecrets()}); err != nil {
		return nil, err
	}
	src, err := n.d.volumeDir(r.GetVolumeId())
	if err != nil {
		return nil, internal(err)
	}
	return &csipb.NodeStageVolumeResponse{}, internal(bind(src, r.GetStagingTargetPath(), false))
}

func (n node) NodeUnstageVolume(_ context.Context, r *csipb.NodeUnstageVolumeRequest) (*csipb.NodeUnstageVolumeResponse, error) {
	if err := required(r.GetVolumeId(), r.GetStagingTargetPath()); err != nil {
		return nil, err
	}
	if err := n.d.record(Call{Method: "NodeUnstageVolume", VolumeID: r.GetVolumeId(), Path: r.GetStagingTargetPath()}); err != nil {
		return nil, err
	}
	return &csipb.NodeUnstageVolumeResponse{}, internal(unbind(r.GetStagingTargetPath()))
}

func (n node) NodePublishVolume(_ context.Context, r *csipb.NodePublishVolumeRequest) (*csipb.NodePublishVolumeResponse, error) {
	if err := required(r.GetVolumeId(), r.GetTargetPath()); err != nil {
		return nil, err
	}
	fs, flags := mountOf(r.GetVolumeCapability())
	if err := n.d.record(Call{Method: "NodePublishVolume", VolumeID: r.GetVolumeId(), Path: r.GetTargetPath(), StagingPath: r.GetStagingTargetPath(),
		ReadOnly: r.GetReadonly(), FSType: fs, MountFlags: flags,
		VolumeContext: r.GetVolumeContext(), PublishContext: r.GetPublishContext(), Secrets: r.GetSecrets()}); err != nil {
		return nil, err
	}
	src := r.GetStagingTargetPath()
	if n.d.cfg.NoStage {
		var err error
		if src, err = n.d.volumeDir(r.GetVolumeId()); err != nil {
			return nil, internal(err)
		}
	} else if ok, err := mounted(src); err != nil || !ok {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is not staged at %q", r.GetVolumeId(), src)
	}
	return &csipb.NodePublishVolumeResponse{}, internal(bind(src, r.GetTargetPath(), r.GetReadonly()))
}

func (n node) NodeUnpublishVolume(_ context.Context, r *csipb.NodeUnpublishVolumeRequest) (*csipb.NodeUnpublishVolumeResponse, error) {
	if err := required(r.GetVolumeId(), r.GetTargetPath()); err != nil {
		return nil, err
	}
	if err := n.d.record(Call{Method: "NodeUnpublishVolume", VolumeID: r.GetVolumeId(), Path: r.GetTargetPath()}); err != nil {
		return nil, err
	}
	return &csipb.NodeUnpublishVolumeResponse{}, internal(unbind(r.GetTargetPath()))
}

// bind mounts src on target (made if missing) unless it is mounted
// there already: CSI calls are idempotent.
func bind(src, target string, ro bool) error {
	if err := os.MkdirAll(target, 0o750); err != nil {
		return err
	}
	if ok, err := mounted(target); err != nil || ok {
		return err
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src, target, err)
	}
	if ro {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			_ = unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("remount %s read-only: %w", target, err)
		}
	}
	return nil
}

// unbind unmounts target, if mounted, and removes it, as a driver's
// Unstage and Unpublish do.
func unbind(target string) error {
	if ok, err := mounted(target); err != nil {
		return err
	} else if ok {
		if err := unix.Unmount(target, 0); err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	if err := os.Remove(target); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func mounted(p string) (bool, error) {
	mps, err := volume.MountsUnder(p)
	if err != nil {
		return false, err
	}
	for _, mp := range mps {
		if mp == p {
			return true, nil
		}
	}
	return false, nil
}
