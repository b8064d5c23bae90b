package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// The CRI has no push. The runtime pushes from its own store, over its
// registry configuration (TLS trust of the node, plain-HTTP endpoints):
// a call of imagesService.Push takes a PullImageRequest (the image and
// the credentials, as PullImage) and streams pushProgress messages as
// JSON (StringValue), the last one with the pushed manifest's digest.
const pushMethod = "/kemudi.runtime.v1.Images/Push"

// pushProgressEvery spaces the progress messages of one push.
const pushProgressEvery = 250 * time.Millisecond

// pushProgress is one message of a push's stream.
type pushProgress struct {
	Complete int64  `json:"complete"`
	Total    int64  `json:"total"`
	Digest   string `json:"digest,omitempty"` // the last message: "sha256:..."
}

type imagePusher interface {
	Push(ctx context.Context, ref string, auth *image.Auth, progress func(image.PushProgress)) (string, error)
}

// PushImage pushes the image ref names in the store to its registry, for
// in-process callers, and returns the manifest digest. progress may be
// nil.
func (r *Runtime) PushImage(ctx context.Context, ref string, auth *runtimeapi.AuthConfig, progress func(image.PushProgress)) (string, error) {
	if ref == "" {
		return "", grpcError(invalidArg("image.image", "must not be empty"))
	}
	p, ok := r.images.(imagePusher)
	if !ok {
		return "", grpcError(fmt.Errorf("push: %w", errUnimplemented))
	}
	digest, err := p.Push(ctx, ref, imageAuth(auth), progress)
	if err != nil {
		return "", grpcError(err)
	}
	r.log.Info("image pushed", "ref", ref, "digest", digest)
	return digest, nil
}

// imageAuth is the store's form of CRI credentials; nil stays nil.
func imageAuth(a *runtimeapi.AuthConfig) *image.Auth {
	if a == nil {
		return nil
	}
	return &image.Auth{
		Username: a.GetUsername(), Password: a.GetPassword(), Auth: a.GetAuth(),
		IdentityToken: a.GetIdentityToken(), RegistryToken: a.GetRegistryToken(), ServerAddress: a.GetServerAddress(),
	}
}

func (r *Runtime) servePush(stream grpc.ServerStream) error {
	req := &runtimeapi.PullImageRequest{}
	if err := stream.RecvMsg(req); err != nil {
		return err
	}
	var mu sync.Mutex // progress runs in the push's goroutine
	var last time.Time
	send := func(m pushProgress) error {
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		return stream.SendMsg(wrapperspb.String(string(b)))
	}
	var final image.PushProgress
	progress := func(p image.PushProgress) {
		final = p
		if time.Since(last) < pushProgressEvery {
			return
		}
		last = time.Now()
		send(pushProgress{Complete: p.Complete, Total: p.Total}) // a gone client ends the push through the context
	}
	digest, err := r.PushImage(stream.Context(), req.GetImage().GetImage(), req.GetAuth(), progress)
	if err != nil {
		return err
	}
	return send(pushProgress{Complete: final.Complete, Total: final.Total, Digest: digest})
}

// PushImageOver asks the runtime behind conn to push ref (a tag or
// name@digest of an image in its store) with auth (nil: the runtime's
// configured credentials for the registry), calls progress (if not nil)
// with bytes done and known so far, and returns the pushed manifest's
// digest ("sha256:..."). `kemudi image push` is this.
func PushImageOver(ctx context.Context, conn *grpc.ClientConn, ref string, auth *runtimeapi.AuthConfig, progress func(complete, total int64)) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, pushMethod)
	if err != nil {
		return "", err
	}
	if err := stream.SendMsg(&runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}, Auth: auth}); err != nil {
		return "", err
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	for {
		msg := &wrapperspb.StringValue{}
		err := stream.RecvMsg(msg)
		if errors.Is(err, io.EOF) {
			return "", errors.New("push: the runtime ended the call without a digest")
		}
		if err != nil {
			return "", err
		}
		var p pushProgress
		if err := json.Unmarshal([]byte(msg.GetValue()), &p); err != nil {
			return "", fmt.Errorf("decode push progress: %w", err)
		}
		if progress != nil {
			progress(p.Complete, p.Total)
		}
		if p.Digest != "" {
			return p.Digest, nil
		}
	}
}
