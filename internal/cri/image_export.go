package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// imagesService.Export takes {"refs","format"} as JSON (StringValue) and
// streams the archive in chunks (BytesValue); an error ends the stream
// with a status, so a client must not keep what it got before.
const exportMethod = "/kemudi.runtime.v1.Images/Export"

// exportChunk is the size of the archive's pieces on the wire.
const exportChunk = 1 << 20

type exportRequest struct {
	Refs   []string `json:"refs"`
	Format string   `json:"format"` // image.DockerArchive or image.OCIArchive
}

type imageExporter interface {
	Export(ctx context.Context, w io.Writer, refs []string, format string) error
}

// ExportImages writes the images refs name to w as a docker-archive or an
// OCI layout tar (format), for in-process callers.
func (r *Runtime) ExportImages(ctx context.Context, w io.Writer, refs []string, format string) error {
	if len(refs) == 0 {
		return grpcError(invalidArg("refs", "name at least one image"))
	}
	if format != image.DockerArchive && format != image.OCIArchive {
		return grpcError(invalidArg("format", "%q: want %s or %s", format, image.DockerArchive, image.OCIArchive))
	}
	e, ok := r.images.(imageExporter)
	if !ok {
		return grpcError(fmt.Errorf("export: %w", errUnimplemented))
	}
	return grpcError(e.Export(ctx, w, refs, format))
}

func (r *Runtime) serveExport(stream grpc.ServerStream) error {
	req := &wrapperspb.StringValue{}
	if err := stream.RecvMsg(req); err != nil {
		return err
	}
	var er exportRequest
	if err := json.Unmarshal([]byte(req.GetValue()), &er); err != nil {
		return grpcError(invalidArg("request", "%v", err))
	}
	return r.ExportImages(stream.Context(), &chunkWriter{stream: stream}, er.Refs, er.Format)
}

// chunkWriter sends what is written in messages of at most exportChunk.
type chunkWriter struct{ stream grpc.ServerStream }

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := p[:min(len(p), exportChunk)]
		if err := w.stream.SendMsg(wrapperspb.Bytes(c)); err != nil {
			return n, err
		}
		n += len(c)
		p = p[len(c):]
	}
	return n, nil
}

// ExportImagesOver streams the images refs name from the runtime behind
// conn to w, as a docker-archive or OCI layout tar (format).
func ExportImagesOver(ctx context.Context, conn *grpc.ClientConn, w io.Writer, refs []string, format string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b, err := json.Marshal(exportRequest{Refs: refs, Format: format})
	if err != nil {
		return err
	}
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, exportMethod)
	if err != nil {
		return err
	}
	if err := stream.SendMsg(wrapperspb.String(string(b))); err != nil {
		return err
	}
	if err := stream.CloseSend(); err != nil {
		return err
	}
	for {
		chunk := &wrapperspb.BytesValue{}
		err := stream.RecvMsg(chunk)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := w.Write(chunk.GetValue()); err != nil {
			return fmt.Errorf("write archive: %w", err)
		}
	}
}
