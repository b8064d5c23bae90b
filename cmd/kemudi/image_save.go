package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc"

	"github.com/kemudi/kemudi/internal/cri"
	"github.com/kemudi/kemudi/internal/cri/image"
)

func newImageSaveCommand(withConn imageConnFunc) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save [-o FILE] [--format docker-archive|oci-archive] REF...",
		Short: "Write images to a tarball that `kemudi image import`, docker load and podman load read",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != image.DockerArchive && format != image.OCIArchive {
				return fmt.Errorf("--format %q: want %s or %s", format, image.DockerArchive, image.OCIArchive)
			}
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				return saveImages(ctx, conn, args, format, output, cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default stdout, unless a terminal)")
	cmd.Flags().StringVar(&format, "format", image.DockerArchive, "docker-archive (docker save's) or oci-archive (an OCI layout)")
	return cmd
}

// saveImages writes the archive to a temporary file renamed to output when
// it is complete, so a failed save leaves no partial archive behind.
func saveImages(ctx context.Context, conn *grpc.ClientConn, refs []string, format, output string, stdout io.Writer) error {
	if output == "" || output == "-" {
		if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return fmt.Errorf("not writing an archive to a terminal: give -o FILE or redirect stdout")
		}
		if err := cri.ExportImagesOver(ctx, conn, stdout, refs, format); err != nil {
			return errors.New(runtimeMessage("save", err))
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".tmp-")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, removes nothing
	err = cri.ExportImagesOver(ctx, conn, tmp, refs, format)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.New(runtimeMessage("save", err))
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}
