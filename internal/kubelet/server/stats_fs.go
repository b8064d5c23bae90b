package server

import (
	"context"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultPodLogDir is where pods' logs are, as upstream:
// <dir>/<namespace>_<name>_<uid>/<container>/<restart>.log.
const DefaultPodLogDir = "/var/log/pods"

// filesystems are the node's filesystems as one summary sees them: each
// nil when it could not be measured.
type filesystems struct {
	// rootFs holds the kubelet's root directory: pods' ephemeral storage.
	rootFs *fsFigures
	// logFs holds the pods' logs.
	logFs *fsFigures
	// containerFs holds the containers' writable layers.
	containerFs *fsFigures
	runtime     *RuntimeStats
}

// with is the filesystem's size with a usage in it (only the usage when
// the filesystem is unknown).
func (f *fsFigures) with(now metav1.Time, used, inodes uint64) *FsStats {
	out := &FsStats{Time: now}
	if f != nil {
		out = &FsStats{Time: now, CapacityBytes: f.CapacityBytes, AvailableBytes: f.AvailableBytes, Inodes: f.Inodes, InodesFree: f.InodesFree}
	}
	out.UsedBytes, out.InodesUsed = u64(used), u64(inodes)
	return out
}

// filesystems measures the node's filesystems once per summary.
func (s *Server) filesystems(ctx context.Context) filesystems {
	var out filesystems
	if s.cfg.RootDir != "" {
		if f, err := statfs(s.cfg.RootDir); err == nil {
			out.rootFs = &f
		}
	}
	if f, err := statfs(s.cfg.PodLogDir); err == nil {
		out.logFs = &f
	}
	out.runtime, out.containerFs = s.runtimeFs(ctx)
	return out
}

// runtimeFs is the runtime's image filesystem and the one its
// containers' layers are on: the runtime gives their usage (CRI
// ImageFsInfo), statfs of their mountpoints their size. A runtime that
// does not split them has its containers on the image filesystem.
func (s *Server) runtimeFs(ctx context.Context) (*RuntimeStats, *fsFigures) {
	if s.cfg.Images == nil {
		return nil, nil
	}
	info, err := s.cfg.Images.ImageFsInfo(ctx, &runtimeapi.ImageFsInfoRequest{})
	if err != nil {
		s.log.Debug("image filesystem info", "err", err)
		return nil, nil
	}
	images := info.GetImageFilesystems()
	if len(images) == 0 {
		return nil, nil
	}
	imageFs, figures := runtimeFsStats(images[0])
	out := &RuntimeStats{ImageFs: imageFs, ContainerFs: imageFs}
	if cs := info.GetContainerFilesystems(); len(cs) > 0 {
		out.ContainerFs, figures = runtimeFsStats(cs[0])
	}
	return out, figures
}

// runtimeFsStats are one of the runtime's filesystems: its usage from
// the runtime, its size from statfs (left out when it cannot be had).
func runtimeFsStats(u *runtimeapi.FilesystemUsage) (*FsStats, *fsFigures) {
	out := &FsStats{Time: metav1.NewTime(time.Unix(0, u.GetTimestamp())), UsedBytes: u64(u.GetUsedBytes().GetValue())}
	if u.InodesUsed != nil {
		out.InodesUsed = u64(u.InodesUsed.Value)
	}
	mp := u.GetFsId().GetMountpoint()
	if mp == "" {
		return out, nil
	}
	f, err := statfs(mp)
	if err != nil {
		return out, nil
	}
	out.CapacityBytes, out.AvailableBytes, out.Inodes, out.InodesFree = f.CapacityBytes, f.AvailableBytes, f.Inodes, f.InodesFree
	return out, &f
}

// podLogDir is a pod's log directory, where the kubelet has the runtime
// write its containers' logs (one subdirectory per container).
func (s *Server) podLogDir(ns, name, uid string) string {
	return filepath.Join(s.cfg.PodLogDir, ns+"_"+name+"_"+uid)
}
