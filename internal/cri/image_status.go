package cri

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// ListImages lists the images, or the one the filter names.
func (r *Runtime) ListImages(_ context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	resp := &runtimeapi.ListImagesResponse{Images: []*runtimeapi.Image{}}
	if ref := req.GetFilter().GetImage().GetImage(); ref != "" {
		img, err := r.images.Get(ref)
		if errors.Is(err, image.ErrNotFound) {
			return resp, nil
		}
		if err != nil {
			return nil, grpcError(err)
		}
		resp.Images = append(resp.Images, criImage(img))
		return resp, nil
	}
	for _, img := range r.images.List() {
		resp.Images = append(resp.Images, criImage(img))
	}
	return resp, nil
}

// ImageStatus reports an image; an image that is not there is no error,
// only an empty answer (the kubelet then pulls). Verbose adds its config.
func (r *Runtime) ImageStatus(_ context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	ref := req.GetImage().GetImage()
	if ref == "" {
		return nil, grpcError(invalidArg("image.image", "must not be empty"))
	}
	img, err := r.images.Get(ref)
	if errors.Is(err, image.ErrNotFound) {
		return &runtimeapi.ImageStatusResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &runtimeapi.ImageStatusResponse{Image: criImage(img)}
	if req.GetVerbose() {
		info, _ := json.Marshal(map[string]any{"id": img.ID, "config": img.Config})
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

func criImage(img image.Image) *runtimeapi.Image {
	out := &runtimeapi.Image{
		Id:          img.ID,
		RepoTags:    img.RepoTags,
		RepoDigests: img.RepoDigests,
		Size:        img.Size,
		Spec:        &runtimeapi.ImageSpec{Image: img.ID},
	}
	user, _, _ := strings.Cut(img.Config.User, ":")
	if uid, err := strconv.ParseInt(user, 10, 64); err == nil {
		out.Uid = &runtimeapi.Int64Value{Value: uid}
	} else {
		out.Username = user
	}
	return out
}
