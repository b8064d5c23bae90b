package cri

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/image"
)

// fakeImages answers the extension methods; the CRI's own image verbs
// are not called (the embedded interface is nil).
type fakeImages struct {
	imageStore
	pushAuth *image.Auth
}

func (f *fakeImages) Push(_ context.Context, ref string, auth *image.Auth, progress func(image.PushProgress)) (string, error) {
	f.pushAuth = auth
	if auth == nil || auth.Password != "right" {
		return "", fmt.Errorf("push %s: registry refused access (401 Unauthorized): %w", ref, image.ErrUnauthorized)
	}
	for i := int64(1); i <= 3; i++ {
		progress(image.PushProgress{Complete: i * 10, Total: 30})
	}
	return "sha256:" + strings.Repeat("a", 64), nil
}

func (f *fakeImages) Login(_ context.Context, host string, auth *image.Auth) error {
	if auth.Password != "right" {
		return fmt.Errorf("login %s: %w", host, image.ErrUnauthorized)
	}
	return nil
}

func (f *fakeImages) Tag(src, dst string) (image.Image, error) {
	if src != "busybox" {
		return image.Image{}, fmt.Errorf("image %q: %w", src, image.ErrNotFound)
	}
	return image.Image{ID: "sha256:" + strings.Repeat("b", 64), RepoTags: []string{"docker.io/library/busybox:latest", dst}}, nil
}

func (f *fakeImages) Export(_ context.Context, w io.Writer, refs []string, format string) error {
	if refs[0] == "missing" {
		return fmt.Errorf("image %q: %w", refs[0], image.ErrNotFound)
	}
	// More than one message's worth, to see the chunks put back together.
	_, err := io.WriteString(w, strings.Repeat(format, 3*exportChunk/len(format)+1))
	return err
}

func serveFake(t *testing.T) (*fakeImages, *grpc.ClientConn) {
	t.Helper()
	f := &fakeImages{}
	r := &Runtime{log: slog.New(slog.DiscardHandler), images: f}
	sock := filepath.Join(t.TempDir(), "cri.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, l) }()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return f, conn
}

func TestImagesServicePush(t *testing.T) {
	f, conn := serveFake(t)
	ctx := context.Background()
	var seen [][2]int64
	digest, err := PushImageOver(ctx, conn, "127.0.0.1:5000/app:1", &runtimeapi.AuthConfig{Username: "u", Password: "right", ServerAddress: "127.0.0.1:5000"},
		func(c, total int64) { seen = append(seen, [2]int64{c, total}) })
	if err != nil || digest != "sha256:"+strings.Repeat("a", 64) {
		t.Fatalf("push: %q, %v", digest, err)
	}
	if f.pushAuth == nil || f.pushAuth.Username != "u" || f.pushAuth.ServerAddress != "127.0.0.1:5000" {
		t.Errorf("the store got credentials %+v", f.pushAuth)
	}
	if len(seen) == 0 || seen[len(seen)-1] != [2]int64{30, 30} {
		t.Errorf("progress %v, want it to end at 30/30", seen)
	}
	for _, tc := range []struct {
		name string
		auth *runtimeapi.AuthConfig
		ref  string
		code codes.Code
	}{
		{"wrong password", &runtimeapi.AuthConfig{Username: "u", Password: "wrong"}, "127.0.0.1:5000/app:1", codes.Unauthenticated},
		{"no credentials", nil, "127.0.0.1:5000/app:1", codes.Unauthenticated},
		{"no image", nil, "", codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := PushImageOver(ctx, conn, tc.ref, tc.auth, nil)
			if status.Code(err) != tc.code {
				t.Fatalf("push: %v, want %s", err, tc.code)
			}
		})
	}
}

func TestImagesServiceLoginTagExport(t *testing.T) {
	_, conn := serveFake(t)
	ctx := context.Background()
	if err := LoginOver(ctx, conn, &runtimeapi.AuthConfig{Username: "u", Password: "right", ServerAddress: "r:5000"}); err != nil {
		t.Errorf("login: %v", err)
	}
	if err := LoginOver(ctx, conn, &runtimeapi.AuthConfig{Username: "u", Password: "wrong", ServerAddress: "r:5000"}); status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "unauthorized") {
		t.Errorf("login with a wrong password: %v", err)
	}
	if err := LoginOver(ctx, conn, &runtimeapi.AuthConfig{Username: "u", Password: "right"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("login without a host: %v", err)
	}

	img, err := TagImageOver(ctx, conn, "busybox", "r:5000/bb:1")
	if err != nil || len(img.GetRepoTags()) != 2 || img.GetRepoTags()[1] != "r:5000/bb:1" {
		t.Errorf("tag: %+v, %v", img, err)
	}
	if _, err := TagImageOver(ctx, conn, "nope", "r:5000/bb:1"); status.Code(err) != codes.NotFound {
		t.Errorf("tag of a missing image: %v", err)
	}

	var buf bytes.Buffer
	if err := ExportImagesOver(ctx, conn, &buf, []string{"busybox"}, image.OCIArchive); err != nil {
		t.Fatalf("export: %v", err)
	}
	if want := strings.Repeat(image.OCIArchive, 3*exportChunk/len(image.OCIArchive)+1); buf.String() != want {
		t.Errorf("export: %d bytes, want %d", buf.Len(), len(want))
	}
	for _, tc := range []struct {
		refs   []string
		format string
		code   codes.Code
	}{
		{[]string{"missing"}, image.DockerArchive, codes.NotFound},
		{[]string{"busybox"}, "zip", codes.InvalidArgument},
		{nil, image.DockerArchive, codes.InvalidArgument},
	} {
		if err := ExportImagesOver(ctx, conn, io.Discard, tc.refs, tc.format); status.Code(err) != tc.code {
			t.Errorf("export %v %s: %v, want %s", tc.refs, tc.format, err, tc.code)
		}
	}
}
