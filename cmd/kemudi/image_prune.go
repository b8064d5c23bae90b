package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/kemudi/kemudi/internal/cri"
)

func newImagePruneCommand(withConn imageConnFunc) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove the build cache no tagged image is built on (--all: all build cache and every untagged image no container uses)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				res, err := cri.PruneImagesOver(ctx, conn, all)
				if err != nil {
					return errors.New(runtimeMessage("prune", err))
				}
				printPruneResult(cmd.OutOrStdout(), res)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "also the build cache of tagged images and every untagged image no container uses")
	return cmd
}

// printPruneResult prints what a prune freed, as docker's prune does:
// the images deleted, then the total.
func printPruneResult(w io.Writer, res cri.PruneResult) {
	for _, id := range res.Images {
		fmt.Fprintf(w, "deleted %s\n", shortImageID(id))
	}
	fmt.Fprintf(w, "%d images, %d build cache entries, %d layers and %d blobs removed; reclaimed %s\n",
		len(res.Images), res.CacheEntries, res.Snapshots, res.Blobs, humanBytes(res.Bytes))
}

// humanBytes is n in the largest unit that keeps it at least 1 (base
// 1000, as docker prints sizes).
func humanBytes(n uint64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	v, i := float64(n), 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.3g %s", v, units[i])
}
