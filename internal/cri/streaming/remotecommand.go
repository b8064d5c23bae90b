package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	rc "k8s.io/apimachinery/pkg/util/remotecommand"
)

// streamOpts are the channels a remote command has, from its CRI request.
type streamOpts struct {
	stdin, stdout, stderr, tty bool
}

// runFunc runs the command behind a stream; it returns its exit code.
type runFunc func(ctx context.Context, st Streams) (int32, error)

var spdyProtocols = []string{rc.StreamProtocolV4Name, rc.StreamProtocolV3Name, rc.StreamProtocolV2Name, rc.StreamProtocolV1Name}

// rcSession is an open remote command's channels, whatever the transport.
type rcSession struct {
	protocol string
	stdin    io.ReadCloser
	stdout   io.WriteCloser
	stderr   io.WriteCloser
	errorCh  io.WriteCloser
	resize   io.ReadCloser
	closeAll func()
	gone     <-chan bool // closed when the client's connection ends (nil: unknown)
}

func (s *Server) serveRemoteCommand(w http.ResponseWriter, r *http.Request, o streamOpts, run runFunc) {
	var sess *rcSession
	var err error
	if isWebSocket(r) {
		sess, err = s.openWebSocket(w, r, o)
	} else {
		sess, err = s.openSPDY(w, r, o)
	}
	if err != nil {
		s.log.Warn("remote command: open streams", "err", err)
		return
	}
	defer sess.closeAll()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if sess.gone != nil {
		go func() {
			select {
			case <-sess.gone:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	st := Streams{TTY: o.tty}
	if sess.stdin != nil {
		st.Stdin = sess.stdin
	}
	if sess.stdout != nil {
		st.Stdout = sess.stdout
	}
	if sess.stderr != nil {
		st.Stderr = sess.stderr
	}
	if o.tty {
		resize := make(chan TerminalSize, 4)
		st.Resize = resize
		go decodeResizes(sess.resize, resize)
	}
	code, err := run(ctx, st)
	// The output is all written: end the output channels before the status.
	if sess.stdout != nil {
		sess.stdout.Close()
	}
	if sess.stderr != nil {
		sess.stderr.Close()
	}
	writeStatus(sess, code, err)
}

// decodeResizes reads TerminalSize JSON objects until the channel ends.
func decodeResizes(r io.Reader, out chan<- TerminalSize) {
	defer close(out)
	if r == nil {
		return
	}
	dec := json.NewDecoder(r)
	for {
		var sz struct{ Width, Height uint16 }
		if err := dec.Decode(&sz); err != nil {
			return
		}
		out <- TerminalSize{Width: sz.Width, Height: sz.Height}
	}
}

// writeStatus reports how the command ended on the error channel: v4 and
// later a metav1.Status, earlier protocols the error's text.
func writeStatus(sess *rcSession, code int32, err error) {
	if sess.errorCh == nil {
		return
	}
	switch sess.protocol {
	case rc.StreamProtocolV4Name, rc.StreamProtocolV5Name:
	default:
		if err != nil {
			io.WriteString(sess.errorCh, err.Error())
		} else if code != 0 {
			fmt.Fprintf(sess.errorCh, "command terminated with non-zero exit code: %d", code)
		}
		return
	}
	st := metav1.Status{Status: metav1.StatusSuccess}
	switch {
	case err != nil:
		st = metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInternalError, Message: err.Error()}
	case code != 0:
		st = metav1.Status{
			Status:  metav1.StatusFailure,
			Reason:  rc.NonZeroExitCodeReason,
			Message: fmt.Sprintf("command terminated with non-zero exit code: %d", code),
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Type: rc.ExitCodeCauseType, Message: strconv.Itoa(int(code))}}},
		}
	}
	b, _ := json.Marshal(st)
	sess.errorCh.Write(b)
}

type streamAndReply struct {
	httpstream.Stream
	replySent <-chan struct{}
}

func (s *Server) openSPDY(w http.ResponseWriter, r *http.Request, o streamOpts) (*rcSession, error) {
	protocol, err := httpstream.Handshake(r, w, spdyProtocols)
	if err != nil {
		return nil, err // Handshake answered the client
	}
	streams := make(chan streamAndReply, 8)
	conn := upgradeSPDY(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		streams <- streamAndReply{st, replySent}
		return nil
	})
	if conn == nil {
		return nil, errors.New("SPDY upgrade failed") // the upgrader answered the client
	}
	conn.SetIdleTimeout(s.opts.IdleTimeout)
	want := 1 // error
	for _, b := range []bool{o.stdin, o.stdout, o.stderr && !o.tty, o.tty && protocol != rc.StreamProtocolV2Name && protocol != rc.StreamProtocolV1Name} {
		if b {
			want++
		}
	}
	sess := &rcSession{protocol: protocol, gone: conn.CloseChan()}
	var got []streamAndReply
	timeout := time.NewTimer(rc.DefaultStreamCreationTimeout)
	defer timeout.Stop()
	for len(got) < want {
		select {
		case st := <-streams:
			got = append(got, st)
			switch st.Headers().Get("streamType") {
			case "error":
				sess.errorCh = st
			case "stdin":
				sess.stdin = st
			case "stdout":
				sess.stdout = st
			case "stderr":
				sess.stderr = st
			case "resize":
				sess.resize = st
			default:
				conn.Close()
				return nil, fmt.Errorf("unexpected stream type %q", st.Headers().Get("streamType"))
			}
		case <-timeout.C:
			conn.Close()
			return nil, fmt.Errorf("%d of %d streams came within %v", len(got), want, rc.DefaultStreamCreationTimeout)
		}
	}
	for _, st := range got {
		<-st.replySent
	}
	sess.closeAll = func() {
		for _, st := range got {
			st.Close()
		}
		conn.Close()
	}
	return sess, nil
}

func (s *Server) openWebSocket(w http.ResponseWriter, r *http.Request, o streamOpts) (*rcSession, error) {
	ch := func(b bool, t wsstream.ChannelType) wsstream.ChannelType {
		if b {
			return t
		}
		return wsstream.IgnoreChannel
	}
	channels := []wsstream.ChannelType{
		ch(o.stdin, wsstream.ReadChannel),
		ch(o.stdout, wsstream.WriteChannel),
		ch(o.stderr && !o.tty, wsstream.WriteChannel),
		wsstream.WriteChannel, // error
		ch(o.tty, wsstream.ReadChannel),
	}
	protocols := wsstream.NewDefaultChannelProtocols(channels)
	for _, p := range []string{rc.StreamProtocolV5Name, rc.StreamProtocolV4Name, rc.StreamProtocolV3Name, rc.StreamProtocolV2Name} {
		protocols[p] = wsstream.ChannelProtocolConfig{Binary: true, Channels: channels}
		protocols["base64."+p] = wsstream.ChannelProtocolConfig{Binary: false, Channels: channels}
	}
	conn := wsstream.NewConn(protocols)
	conn.SetIdleTimeout(s.opts.IdleTimeout)
	protocol, rwc, err := conn.Open(w, r)
	if err != nil {
		return nil, fmt.Errorf("websocket: %w", err)
	}
	switch protocol {
	case "base64." + rc.StreamProtocolV5Name:
		protocol = rc.StreamProtocolV5Name
	case "base64." + rc.StreamProtocolV4Name:
		protocol = rc.StreamProtocolV4Name
	}
	sess := &rcSession{protocol: protocol, errorCh: rwc[3]}
	if o.stdin {
		sess.stdin = rwc[0]
	}
	if o.stdout {
		sess.stdout = rwc[1]
	}
	if o.stderr && !o.tty {
		sess.stderr = rwc[2]
	}
	if o.tty {
		sess.resize = rwc[4]
	}
	var once sync.Once
	sess.closeAll = func() { once.Do(func() { conn.Close() }) }
	return sess, nil
}
