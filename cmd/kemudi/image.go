package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/kemudi/kemudi/internal/component"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri"
)

// newImageCommand manages the runtime's images without a registry. It
// talks to the running runtime over its socket: the image store belongs
// to that one process.
func newImageCommand() *cobra.Command {
	var endpoint string
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage the container runtime's images: pull, push, log in to registries, tag, save, import, list, remove",
	}
	cmd.PersistentFlags().StringVar(&endpoint, "runtime-endpoint", cri.DefaultSocket, "the runtime's CRI socket")
	withConn := func(cmd *cobra.Command, fn func(ctx context.Context, conn *grpc.ClientConn) error) error {
		ctx, cancel := component.SignalContext(cmd.Context())
		defer cancel()
		conn, err := grpc.NewClient("unix://"+strings.TrimPrefix(endpoint, "unix://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("connect to the runtime at %s: %w", endpoint, err)
		}
		defer conn.Close()
		return fn(ctx, conn)
	}
	importCmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a docker-archive (docker save) or OCI layout tarball; - reads stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				imgs, err := cri.ImportImageOver(ctx, conn, in)
				if err != nil {
					return err
				}
				for _, img := range imgs {
					fmt.Fprintf(cmd.OutOrStdout(), "imported %s %s\n", img.GetId(), strings.Join(img.GetRepoTags(), ","))
				}
				return nil
			})
		},
	}
	lsCmd := &cobra.Command{
		Use:   "ls",
		Short: "List images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := runtimeapi.NewImageServiceClient(conn).ListImages(ctx, &runtimeapi.ListImagesRequest{})
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "REF\tID\tSIZE")
				for _, img := range resp.GetImages() {
					refs := append(append([]string{}, img.GetRepoTags()...), img.GetRepoDigests()...)
					if len(refs) == 0 {
						refs = []string{"<none>"}
					}
					for _, ref := range refs {
						fmt.Fprintf(w, "%s\t%s\t%d\n", ref, shortImageID(img.GetId()), img.GetSize())
					}
				}
				return w.Flush()
			})
		},
	}
	rmCmd := &cobra.Command{
		Use:   "rm REF...",
		Short: "Remove images (every tag of each)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				c := runtimeapi.NewImageServiceClient(conn)
				for _, ref := range args {
					st, err := c.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: ref}})
					if err != nil {
						return err
					}
					if st.GetImage() == nil {
						return fmt.Errorf("image %q not found", ref)
					}
					if _, err := c.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: ref}}); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", ref)
				}
				return nil
			})
		},
	}
	cmd.AddCommand(importCmd, lsCmd, rmCmd, newImageBuildCommand(&endpoint))
	cmd.AddCommand(newImageLoginCommand(withConn), newImageLogoutCommand())
	cmd.AddCommand(newImagePushCommand(withConn))
	cmd.AddCommand(newImagePullCommand(withConn))
	cmd.AddCommand(newImageTagCommand(withConn))
	cmd.AddCommand(newImagePruneCommand(withConn))
	cmd.AddCommand(newImageSaveCommand(withConn))
	return cmd
}

func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 13 {
		return id[:13]
	}
	return id
}
