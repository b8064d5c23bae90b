package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kemudi/kemudi/internal/component"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kemudi/kemudi/internal/build"
	"github.com/kemudi/kemudi/internal/cri"
)

// newImageBuildCommand is `kemudi image build`: the context is sent to
// the runtime, which builds (the image store and the containers are
// its).
func newImageBuildCommand(endpoint *string) *cobra.Command {
	var (
		tags      []string
		file      string
		buildArgs []string
		target    string
		noCache   bool
		push      bool
	)
	cmd := &cobra.Command{
		Use:   "build [flags] DIR",
		Short: "Build an image from a Dockerfile, on the runtime's containers",
		Long: `Build an image from a Dockerfile (DIR/Dockerfile unless -f) with DIR as the
build context (less what DIR/.dockerignore excludes). RUN steps are
containers of the runtime on the node's network. Each step is cached:
a rebuild with the same Dockerfile, context and build args reuses every
layer ("CACHED").`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if file == "" {
				file = filepath.Join(dir, "Dockerfile")
			}
			src, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("read the Dockerfile: %w", err)
			}
			req := cri.BuildRequest{Tags: tags, Dockerfile: src, DockerfileName: filepath.Base(file), Target: target, NoCache: noCache}
			if req.BuildArgs, err = parseBuildArgs(buildArgs); err != nil {
				return err
			}
			// Refuse a bad Dockerfile here, before the context is sent.
			df, err := build.Parse(req.DockerfileName, src)
			if err != nil {
				return err
			}
			if _, err := df.Plan(target, req.BuildArgs); err != nil {
				return err
			}
			if push && len(tags) == 0 {
				return fmt.Errorf("--push needs a tag (-t)")
			}
			ctx, cancel := component.SignalContext(cmd.Context())
			defer cancel()
			conn, err := grpc.NewClient("unix://"+strings.TrimPrefix(*endpoint, "unix://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return fmt.Errorf("connect to the runtime at %s: %w", *endpoint, err)
			}
			defer conn.Close()
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(build.WriteContext(dir, pw)) }()
			defer pr.Close()
			img, err := cri.BuildOver(ctx, conn, req, pr, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "built %s\n", img.GetId())
			if push {
				for _, t := range tags {
					if err := pushBuilt(ctx, conn, cmd.OutOrStdout(), t); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&tags, "tag", "t", nil, "name the image (repeatable): 127.0.0.1:5000/app:1")
	f.StringVarP(&file, "file", "f", "", "the Dockerfile (default DIR/Dockerfile)")
	f.StringArrayVar(&buildArgs, "build-arg", nil, "KEY=VALUE for an ARG (repeatable)")
	f.StringVar(&target, "target", "", "build up to this stage")
	f.BoolVar(&noCache, "no-cache", false, "run every step, reusing no cached layer")
	f.BoolVar(&push, "push", false, "push each tag to its registry once built (credentials of kemudi image login)")
	return cmd
}

func parseBuildArgs(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: want KEY=VALUE", a)
		}
		if !ok {
			// as docker: KEY alone takes the value from the environment
			var set bool
			if v, set = os.LookupEnv(k); !set {
				continue
			}
		}
		out[k] = v
	}
	return out, nil
}

// pushBuilt pushes ref with the credentials `kemudi image login` saved.
func pushBuilt(ctx context.Context, conn *grpc.ClientConn, out io.Writer, ref string) error {
	auth, err := credentialsFor(ref)
	if err != nil {
		return err
	}
	digest, err := cri.PushImageOver(ctx, conn, ref, auth, nil)
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	fmt.Fprintf(out, "pushed %s@%s\n", ref, digest)
	return nil
}
