package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The CRI has no verb to import an image tarball, so the runtime serves
// one more method on its socket (imagesService): a client stream of
// tarball chunks (BytesValue) answered with the imported images as JSON
// (StringValue).
const importMethod = "/kemudi.runtime.v1.Images/Import"

// ImportImage imports a docker-archive or OCI layout tarball into the
// image store, for in-process callers.
func (r *Runtime) ImportImage(ctx context.Context, tarball io.Reader) ([]*runtimeapi.Image, error) {
	imgs, err := r.images.Import(ctx, tarball)
	if err != nil {
		return nil, grpcError(fmt.Errorf("import: %w", err))
	}
	out := make([]*runtimeapi.Image, 0, len(imgs))
	for _, img := range imgs {
		r.log.Info("image imported", "id", img.ID, "tags", img.RepoTags)
		out = append(out, criImage(img))
	}
	return out, nil
}

func (r *Runtime) serveImport(stream grpc.ServerStream) error {
	pr := receiveChunks(stream)
	imgs, err := r.ImportImage(stream.Context(), pr)
	pr.CloseWithError(errors.New("import finished"))
	if err != nil {
		return err
	}
	b, err := json.Marshal(imgs)
	if err != nil {
		return err
	}
	return stream.SendMsg(wrapperspb.String(string(b)))
}

// ImportImageOver sends a tarball to the runtime behind conn, as
// `kemudi image import` does.
func ImportImageOver(ctx context.Context, conn *grpc.ClientConn, tarball io.Reader) ([]*runtimeapi.Image, error) {
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, importMethod)
	if err != nil {
		return nil, err
	}
	if err := sendChunks(stream, tarball); err != nil {
		return nil, fmt.Errorf("send tarball: %w", err)
	}
	reply := &wrapperspb.StringValue{}
	if err := stream.RecvMsg(reply); err != nil {
		return nil, err
	}
	var imgs []*runtimeapi.Image
	if err := json.Unmarshal([]byte(reply.GetValue()), &imgs); err != nil {
		return nil, fmt.Errorf("decode import reply: %w", err)
	}
	return imgs, nil
}
