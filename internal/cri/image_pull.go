package cri

import (
	"context"
	"fmt"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// PullImage pulls an image with the request's credentials (the registry
// configuration's otherwise) and answers its ID.
func (r *Runtime) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, grpcError(invalidArg("image.image", "must not be empty"))
	}
	var auth *image.Auth
	if a := req.GetAuth(); a != nil {
		auth = &image.Auth{
			Username: a.GetUsername(), Password: a.GetPassword(), Auth: a.GetAuth(),
			IdentityToken: a.GetIdentityToken(), RegistryToken: a.GetRegistryToken(), ServerAddress: a.GetServerAddress(),
		}
	}
	img, err := r.images.Pull(ctx, ref, auth)
	if err != nil {
		return nil, grpcError(fmt.Errorf("pull %s: %w", ref, err))
	}
	r.log.Info("image pulled", "ref", ref, "id", img.ID)
	return &runtimeapi.PullImageResponse{ImageRef: img.ID}, nil
}

// RemoveImage removes an image (every tag of it); an image that is not
// there is already removed.
func (r *Runtime) RemoveImage(_ context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, grpcError(invalidArg("image.image", "must not be empty"))
	}
	if err := r.images.Remove(ref); err != nil && !isNotFound(err) {
		return nil, grpcError(fmt.Errorf("remove image %s: %w", ref, err))
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}

// ImageFsInfo reports the filesystem images and writable layers live on.
func (r *Runtime) ImageFsInfo(context.Context, *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	fs, err := r.images.FsInfo()
	if err != nil {
		return nil, grpcError(fmt.Errorf("image filesystem: %w", err))
	}
	u := &runtimeapi.FilesystemUsage{
		Timestamp:  now(),
		FsId:       &runtimeapi.FilesystemIdentifier{Mountpoint: fs.Mountpoint},
		UsedBytes:  &runtimeapi.UInt64Value{Value: fs.Bytes},
		InodesUsed: &runtimeapi.UInt64Value{Value: fs.Inodes},
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{u}, ContainerFilesystems: []*runtimeapi.FilesystemUsage{u}}, nil
}
