package cri

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The runtime's extra methods that take a tarball (import, build) carry it
// as a client stream of BytesValue chunks; these are the two ends.

// sendChunks sends r in chunks of up to 1 MiB and closes the send side.
// A send the server refused ends it quietly: the server ended the call,
// and the caller's RecvMsg says why.
func sendChunks(stream grpc.ClientStream, r io.Reader) error {
	buf := make([]byte, 1<<20)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if err := stream.SendMsg(wrapperspb.Bytes(buf[:n])); err != nil {
				return nil
			}
		}
		if errors.Is(rerr, io.EOF) {
			return stream.CloseSend()
		}
		if rerr != nil {
			return fmt.Errorf("read: %w", rerr)
		}
	}
}

// receiveChunks is the stream's remaining chunks as one reader. The
// caller closes it (CloseWithError) when it stops reading, which ends the
// receiving goroutine.
func receiveChunks(stream grpc.ServerStream) *io.PipeReader {
	pr, pw := io.Pipe()
	go func() {
		for {
			chunk := &wrapperspb.BytesValue{}
			err := stream.RecvMsg(chunk)
			if errors.Is(err, io.EOF) {
				pw.Close()
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(chunk.GetValue()); err != nil {
				return // the reader was closed
			}
		}
	}()
	return pr
}
