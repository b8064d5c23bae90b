package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kemudi/kemudi/internal/cri"
)

// imageConnFunc runs fn with a connection to the runtime (newImageCommand's).
type imageConnFunc func(cmd *cobra.Command, fn func(ctx context.Context, conn *grpc.ClientConn) error) error

func newImagePushCommand(withConn imageConnFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "push REF",
		Short: "Push an image of the runtime's store to its registry (credentials from `kemudi image login`)",
		Long: `Push sends the image REF (a tag or name@digest of an image in the runtime's
store) to the registry REF names, with the credentials 'kemudi image login'
stored for that registry. The runtime itself pushes, trusting what the node
trusts (its registries.yaml). Progress goes to stderr; the last line on
stdout is the pushed image's digest reference, NAME@sha256:...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withConn(cmd, func(ctx context.Context, conn *grpc.ClientConn) error {
				return pushImageOver(ctx, conn, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
			})
		},
	}
}

// pushImageOver pushes ref from the runtime behind conn with the stored
// credentials for its registry, reporting progress to progress (nil: none)
// and writing "NAME@sha256:..." to out. `kemudi image push` and
// `kemudi image build --push` are this.
func pushImageOver(ctx context.Context, conn *grpc.ClientConn, ref string, out, progress io.Writer) error {
	auth, err := credentialsFor(ref)
	if err != nil {
		return err
	}
	var report func(complete, total int64)
	if progress != nil {
		report = progressReporter(progress, "pushing "+ref)
	}
	digest, err := cri.PushImageOver(ctx, conn, ref, auth, report)
	if err != nil {
		if status.Code(err) == codes.Unauthenticated {
			host, _ := refHost(ref)
			return fmt.Errorf("%s (log in with: kemudi image login %s)", runtimeMessage("push "+ref, err), host)
		}
		return errors.New(runtimeMessage("push "+ref, err))
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s@%s\n", r.Context().Name(), digest)
	return err
}

// progressReporter prints "what: 12.0 MiB / 200.0 MiB" at most once a
// second, and once at the end.
func progressReporter(w io.Writer, what string) func(complete, total int64) {
	var last time.Time
	var printed [2]int64
	return func(complete, total int64) {
		if time.Since(last) < time.Second && (total == 0 || complete < total) || printed == [2]int64{complete, total} {
			return
		}
		last, printed = time.Now(), [2]int64{complete, total}
		fmt.Fprintf(w, "%s: %s / %s\n", what, mib(complete), mib(total))
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// runtimeMessage is what a failed call to the runtime says (the runtime
// names what failed), or, when the runtime is not there at all, what the
// user asked for and a hint.
func runtimeMessage(what string, err error) string {
	st := status.Convert(err)
	if st.Code() == codes.Unavailable {
		return what + ": " + st.Message() + " (is the runtime running? kemudi server, kemudi agent and kemudi runtime serve it; --runtime-endpoint names its socket)"
	}
	return st.Message()
}
