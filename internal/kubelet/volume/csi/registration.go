package csi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	csipb "github.com/container-storage-interface/spec/lib/go/csi"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// registerTimeout bounds a registration's calls (upstream's plugin
// manager gives a plugin's GetInfo a second; NodeGetInfo gets longer).
const registerTimeout = 10 * time.Second

// register runs upstream's registration of the plugin serving socket:
// GetInfo, the checks of a CSI plugin, its NodeGetInfo written into the
// node and CSINode, then NotifyRegistrationStatus with the outcome.
func (r *Registrar) register(ctx context.Context, socket string) error {
	ctx, cancel := context.WithTimeout(ctx, registerTimeout)
	defer cancel()
	conn, err := dial(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	reg := registerapi.NewRegistrationClient(conn)
	info, err := reg.GetInfo(ctx, &registerapi.InfoRequest{})
	if err != nil {
		return fmt.Errorf("failed to get plugin info using RPC GetInfo at socket %s, err: %w", socket, err)
	}
	dr, err := r.install(ctx, socket, info)
	status := &registerapi.RegistrationStatus{PluginRegistered: err == nil}
	if err != nil {
		status.Error = err.Error()
	}
	if _, nerr := reg.NotifyRegistrationStatus(ctx, status); nerr != nil {
		// The plugin did not hear of it: it registers again.
		err = errors.Join(err, fmt.Errorf("RegisterPlugin error -- failed to send registration status at socket %s, err: %w", socket, nerr))
		if status.PluginRegistered {
			_ = r.deregister(ctx, socket)
		}
		return err
	}
	if err == nil {
		r.log.Info("registered CSI driver", "driver", dr.Name, "endpoint", dr.Endpoint, "nodeID", dr.NodeID)
	}
	return err
}

// install checks the plugin's info, asks the driver for its node info
// and records it.
func (r *Registrar) install(ctx context.Context, socket string, info *registerapi.PluginInfo) (Driver, error) {
	if info.Type != registerapi.CSIPlugin {
		return Driver{}, fmt.Errorf("RegisterPlugin error -- no handler registered for plugin type: %s at socket %s", info.Type, socket)
	}
	if info.Name == "" {
		return Driver{}, fmt.Errorf("RegisterPlugin error -- plugin at socket %s has no name", socket)
	}
	if err := checkVersions(info.Name, info.SupportedVersions); err != nil {
		return Driver{}, err
	}
	if old, ok := r.drivers.Get(info.Name); ok && old.Socket != socket {
		return Driver{}, fmt.Errorf("RegisterPlugin error -- CSI driver %q is already registered from socket %s", info.Name, old.Socket)
	}
	dr := Driver{Name: info.Name, Endpoint: info.Endpoint, Socket: socket}
	if dr.Endpoint == "" {
		dr.Endpoint = socket
	}
	ni, err := nodeGetInfo(ctx, dr.Endpoint)
	if err != nil {
		return Driver{}, fmt.Errorf("error during CSI NodeGetInfo() call: %w", err)
	}
	dr.NodeID = ni.nodeID
	if err := r.nodeInfo.install(ctx, dr.Name, ni); err != nil {
		return Driver{}, fmt.Errorf("error updating CSI node info for driver %s: %w", dr.Name, err)
	}
	r.drivers.add(dr)
	return dr, nil
}

func nodeGetInfo(ctx context.Context, endpoint string) (nodeInfo, error) {
	c, err := newClient(endpoint)
	if err != nil {
		return nodeInfo{}, err
	}
	defer c.Close()
	resp, err := c.node.NodeGetInfo(ctx, &csipb.NodeGetInfoRequest{})
	if err != nil {
		return nodeInfo{}, err
	}
	if resp.GetNodeId() == "" {
		return nodeInfo{}, errors.New("node ID is empty")
	}
	return nodeInfo{nodeID: resp.GetNodeId(), maxVolumes: resp.GetMaxVolumesPerNode(), topology: resp.GetAccessibleTopology().GetSegments()}, nil
}

// checkVersions: the driver must speak CSI 1.x (upstream refuses 0.x
// and an empty list).
func checkVersions(name string, versions []string) error {
	if len(versions) == 0 {
		return fmt.Errorf("RegisterPlugin for CSI driver %q failed. Plugin returned an empty list for supported versions", name)
	}
	for _, v := range versions {
		major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
		if n, err := strconv.Atoi(major); err == nil && n == 1 {
			return nil
		}
	}
	return fmt.Errorf("RegisterPlugin for CSI driver %q failed. None of the versions specified %q are supported. err=highest supported version reported by driver is not 1.x", name, versions)
}

// deregister removes the driver registered from socket from the node's
// annotation and CSINode, then forgets it; an error is retried.
func (r *Registrar) deregister(ctx context.Context, socket string) error {
	dr, ok := r.drivers.forSocket(socket)
	if !ok {
		return nil
	}
	if err := r.nodeInfo.uninstall(ctx, dr.Name); err != nil {
		return fmt.Errorf("deregister CSI driver %s: %w", dr.Name, err)
	}
	r.drivers.remove(dr.Name)
	r.log.Info("deregistered CSI driver", "driver", dr.Name)
	return nil
}
