package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func newImagePullCommand(withConn imageConnFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "pull REF",
		Short: "Pull an image into the runtime's store (credentials from `kemudi image login`)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			auth, err := credentialsFor(ref)
			if err != nil {
				return err
			}
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				resp, err := runtimeapi.NewImageServiceClient(conn).PullImage(ctx, &runtimeapi.PullImageRequest{
					Image: &runtimeapi.ImageSpec{Image: ref}, Auth: auth,
				})
				if status.Code(err) == codes.Unauthenticated {
					host, _ := refHost(ref)
					return fmt.Errorf("%s (log in with: kemudi image login %s)", runtimeMessage("pull "+ref, err), host)
				}
				if err != nil {
					return errors.New(runtimeMessage("pull "+ref, err))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "pulled %s %s\n", ref, resp.GetImageRef())
				return nil
			})
		},
	}
}
