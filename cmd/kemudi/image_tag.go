package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

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
					return errors.New(runtimeMessage("tag "+args[0]+" "+args[1], err))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "tagged %s %s\n", shortImageID(img.GetId()), strings.Join(img.GetRepoTags(), ","))
				return nil
			})
		},
	}
}
