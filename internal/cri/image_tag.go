package cri

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// The CRI has no tag verb: imagesService.Tag takes {"source","target"} as
// JSON (StringValue) and answers the tagged image as JSON.
const tagMethod = "/kemudi.runtime.v1.Images/Tag"

type tagRequest struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

type imageTagger interface {
	Tag(src, dst string) (image.Image, error)
}

// TagImage gives the image src names the tag dst, for in-process callers.
func (r *Runtime) TagImage(src, dst string) (*runtimeapi.Image, error) {
	if src == "" || dst == "" {
		return nil, grpcError(invalidArg("source, target", "must not be empty"))
	}
	t, ok := r.images.(imageTagger)
	if !ok {
		return nil, grpcError(fmt.Errorf("tag: %w", errUnimplemented))
	}
	img, err := t.Tag(src, dst)
	if err != nil {
		return nil, grpcError(err)
	}
	r.log.Info("image tagged", "source", src, "target", dst, "id", img.ID)
	return criImage(img), nil
}

func (r *Runtime) serveTag(_ context.Context, req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	var tr tagRequest
	if err := json.Unmarshal([]byte(req.GetValue()), &tr); err != nil {
		return nil, grpcError(invalidArg("request", "%v", err))
	}
	img, err := r.TagImage(tr.Source, tr.Target)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(img)
	if err != nil {
		return nil, err
	}
	return wrapperspb.String(string(b)), nil
}

// TagImageOver asks the runtime behind conn to tag src as dst and returns
// the image.
func TagImageOver(ctx context.Context, conn *grpc.ClientConn, src, dst string) (*runtimeapi.Image, error) {
	b, err := json.Marshal(tagRequest{Source: src, Target: dst})
	if err != nil {
		return nil, err
	}
	reply := &wrapperspb.StringValue{}
	if err := conn.Invoke(ctx, tagMethod, wrapperspb.String(string(b)), reply); err != nil {
		return nil, err
	}
	img := &runtimeapi.Image{}
	if err := json.Unmarshal([]byte(reply.GetValue()), img); err != nil {
		return nil, fmt.Errorf("decode tag reply: %w", err)
	}
	return img, nil
}
