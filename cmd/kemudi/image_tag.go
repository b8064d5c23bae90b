package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/kemudi/kemudi/internal/cri"
)

func newImageTagCommand(withConn imageConnFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SRC DST",
		Short: "Give the image SRC (tag, ID or name@digest) the tag DST",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				img, err := cri.TagImageOver(ctx, conn, args[0], args[1])
				if err != nil {
					return fmt.Errorf("tag %s %s: %s", args[0], args[1], status.Convert(err).Message())
				}
				fmt.Fprintf(cmd.OutOrStdout(), "tagged %s %s\n", shortImageID(img.GetId()), strings.Join(img.GetRepoTags(), ","))
				return nil
			})
		},
	}
}
