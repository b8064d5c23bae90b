package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/build"
	"github.com/kemudi/kemudi/internal/cri/image"
)

// BuildRequest is what `kemudi image build` asks of the runtime; the
// build context travels beside it as a tar (build.WriteContext).
type BuildRequest struct {
	Tags           []string          `json:"tags,omitempty"`
	Dockerfile     []byte            `json:"dockerfile"`
	DockerfileName string            `json:"dockerfileName,omitempty"` // for error messages
	BuildArgs      map[string]string `json:"buildArgs,omitempty"`
	Target         string            `json:"target,omitempty"`
	NoCache        bool              `json:"noCache,omitempty"`
}

// The build runs in the runtime, which owns the image store, the
// overlays and the containers. One more service on its socket:
// kemudi.runtime.v1.Build/Build, a bidirectional stream. The client sends
// the BuildRequest as JSON (BytesValue), then the context tar in chunks
// (BytesValue); the runtime answers with progress (StringValue holding a
// buildEvent as JSON), the last one carrying the image.
const buildMethod = "/kemudi.runtime.v1.Build/Build"

var buildService = grpc.ServiceDesc{
	ServiceName: "kemudi.runtime.v1.Build",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName: "Build", ClientStreams: true, ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error { return srv.(*Runtime).serveBuild(stream) },
	}},
}

type buildEvent struct {
	Out   string            `json:"out,omitempty"`
	Image *runtimeapi.Image `json:"image,omitempty"`
}

// Build builds the Dockerfile of req with the build context contextTar
// (as build.WriteContext writes it), writing progress to out. It returns
// the image, tagged with req.Tags. A failed build tags nothing and leaves
// no container, sandbox or mount behind; the layers of the steps that
// succeeded stay as cache.
func (r *Runtime) Build(ctx context.Context, req BuildRequest, contextTar io.Reader, out io.Writer) (image.Image, error) {
	store, ok := r.images.(buildStore)
	if !ok {
		return image.Image{}, errors.New("build: the image store cannot commit images")
	}
	r.builds.RLock()
	defer r.builds.RUnlock()
	df, err := build.Parse(req.DockerfileName, req.Dockerfile)
	if err != nil {
		return image.Image{}, err
	}
	stages, err := df.Plan(req.Target, req.BuildArgs)
	if err != nil {
		return image.Image{}, err
	}
	dir, err := os.MkdirTemp(r.buildDir("tmp"), "build-")
	if err != nil {
		if err := os.MkdirAll(r.buildDir("tmp"), 0o700); err != nil {
			return image.Image{}, fmt.Errorf("build: %w", err)
		}
		if dir, err = os.MkdirTemp(r.buildDir("tmp"), "build-"); err != nil {
			return image.Image{}, fmt.Errorf("build: %w", err)
		}
	}
	defer os.RemoveAll(dir)
	ctxDir := filepath.Join(dir, "context")
	if err := os.Mkdir(ctxDir, 0o700); err != nil {
		return image.Image{}, fmt.Errorf("build: %w", err)
	}
	if err := build.ExtractContext(contextTar, ctxDir); err != nil {
		return image.Image{}, err
	}
	b := &builder{
		r: r, store: store, df: df, req: req, out: out, dir: dir, ctxDir: ctxDir,
		id: filepath.Base(dir), results: map[int]*buildState{},
	}
	defer b.cleanup()
	img, err := b.run(ctx, stages)
	if err != nil {
		return image.Image{}, err
	}
	r.log.Info("image built", "id", img.ID, "tags", img.RepoTags)
	return img, nil
}

func (r *Runtime) buildDir(sub string) string { return filepath.Join(r.opts.Root, "build", sub) }

func (r *Runtime) serveBuild(stream grpc.ServerStream) error {
	first := &wrapperspb.BytesValue{}
	if err := stream.RecvMsg(first); err != nil {
		return err
	}
	var req BuildRequest
	if err := json.Unmarshal(first.GetValue(), &req); err != nil {
		return grpcError(invalidArg("build request", "%v", err))
	}
	pr := receiveChunks(stream)
	defer pr.CloseWithError(errors.New("build finished"))
	out := &eventWriter{stream: stream}
	img, err := r.Build(stream.Context(), req, pr, out)
	if err != nil {
		return grpcError(fmt.Errorf("build: %w", err))
	}
	b, err := json.Marshal(buildEvent{Image: criImage(img)})
	if err != nil {
		return err
	}
	return stream.SendMsg(wrapperspb.String(string(b)))
}

// eventWriter sends what the build prints as buildEvents.
type eventWriter struct{ stream grpc.ServerStream }

func (w *eventWriter) Write(p []byte) (int, error) {
	b, err := json.Marshal(buildEvent{Out: string(p)})
	if err != nil {
		return 0, err
	}
	if err := w.stream.SendMsg(wrapperspb.String(string(b))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// BuildOver builds on the runtime behind conn, as `kemudi image build`
// does: req, then the context tar, with the runtime's progress copied to
// out.
func BuildOver(ctx context.Context, conn *grpc.ClientConn, req BuildRequest, contextTar io.Reader, out io.Writer) (*runtimeapi.Image, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, buildMethod)
	if err != nil {
		return nil, err
	}
	hdr, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := stream.SendMsg(wrapperspb.Bytes(hdr)); err != nil {
		return nil, err
	}
	sendErr := make(chan error, 1)
	go func() {
		err := sendChunks(stream, contextTar)
		sendErr <- err
		if err != nil {
			cancel() // the runtime waits for the rest of the context
		}
	}()
	for {
		msg := &wrapperspb.StringValue{}
		err := stream.RecvMsg(msg)
		if errors.Is(err, io.EOF) {
			return nil, errors.New("build: the runtime ended the call without an image")
		}
		if err != nil {
			select {
			case serr := <-sendErr:
				if serr != nil {
					return nil, serr
				}
			default:
			}
			// The runtime's message is the build's error, without gRPC's words.
			if st, ok := status.FromError(err); ok {
				return nil, errors.New(st.Message())
			}
			return nil, err
		}
		var ev buildEvent
		if err := json.Unmarshal([]byte(msg.GetValue()), &ev); err != nil {
			return nil, fmt.Errorf("decode build progress: %w", err)
		}
		if ev.Out != "" && out != nil {
			io.WriteString(out, ev.Out)
		}
		if ev.Image != nil {
			return ev.Image, nil
		}
	}
}
