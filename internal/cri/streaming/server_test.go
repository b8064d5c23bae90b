package streaming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	utilexec "k8s.io/client-go/util/exec"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// echoRuntime stands in for the containers: the protocol is what is
// tested here (the CRI layer's e2e test runs real containers). Its exec
// writes "out:" and each stdin line to stdout, "err" to stderr, the
// terminal sizes it was given, and exits with the code cmd[0] names.
type echoRuntime struct {
	fwdAddr string // where PortForward connects, whatever the port
}

func (echoRuntime) Exec(ctx context.Context, id string, cmd []string, st Streams) (int32, error) {
	var code int32
	fmt.Sscan(cmd[0], &code)
	if st.Stderr != nil {
		io.WriteString(st.Stderr, "err:"+id+"\n")
	}
	if st.Resize != nil {
		sz := <-st.Resize
		fmt.Fprintf(st.Stdout, "size %dx%d\n", sz.Width, sz.Height)
	}
	if st.Stdin != nil {
		b, _ := io.ReadAll(st.Stdin)
		fmt.Fprintf(st.Stdout, "out:%s", b)
	} else {
		io.WriteString(st.Stdout, "out:\n")
	}
	return code, nil
}

func (echoRuntime) Attach(ctx context.Context, id string, st Streams) error {
	io.WriteString(st.Stdout, "attached:"+id+"\n")
	return nil
}

func (r echoRuntime) PortForward(ctx context.Context, sb string, port int32, conn io.ReadWriteCloser) error {
	c, err := net.Dial("tcp", r.fwdAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	go io.Copy(c, conn)
	io.Copy(conn, c)
	return nil
}

func newTestServer(t *testing.T, rt Runtime) *Server {
	t.Helper()
	s, err := New(Options{}, rt)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(context.Background())
	t.Cleanup(func() { s.Close() })
	return s
}

type sizeQueue struct {
	sizes chan remotecommand.TerminalSize
}

func (q sizeQueue) Next() *remotecommand.TerminalSize {
	sz, ok := <-q.sizes
	if !ok {
		return nil
	}
	return &sz
}

func TestRemoteCommand(t *testing.T) {
	s := newTestServer(t, echoRuntime{})
	executors := map[string]func(u string) (remotecommand.Executor, error){
		"spdy": func(u string) (remotecommand.Executor, error) {
			pu, _ := url.Parse(u)
			return remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", pu)
		},
		"websocket": func(u string) (remotecommand.Executor, error) {
			return remotecommand.NewWebSocketExecutor(&restclient.Config{}, "GET", u)
		},
	}
	for name, newExec := range executors {
		for _, tc := range []struct {
			name       string
			req        *runtimeapi.ExecRequest
			stdin      string
			wantOut    string
			wantErrOut string
			wantCode   int
		}{
			{name: "stdout stderr", req: &runtimeapi.ExecRequest{ContainerId: "c1", Cmd: []string{"0"}, Stdout: true, Stderr: true}, wantOut: "out:\n", wantErrOut: "err:c1\n"},
			{name: "stdin", req: &runtimeapi.ExecRequest{ContainerId: "c1", Cmd: []string{"0"}, Stdin: true, Stdout: true}, stdin: "hello\n", wantOut: "out:hello\n"},
			{name: "exit code", req: &runtimeapi.ExecRequest{ContainerId: "c1", Cmd: []string{"7"}, Stdout: true, Stderr: true}, wantOut: "out:\n", wantErrOut: "err:c1\n", wantCode: 7},
			{name: "tty resize", req: &runtimeapi.ExecRequest{ContainerId: "c1", Cmd: []string{"0"}, Stdout: true, Stderr: true, Tty: true}, wantOut: "size 120x40\nout:\n"},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				resp, err := s.GetExec(tc.req)
				if err != nil {
					t.Fatal(err)
				}
				ex, err := newExec(resp.Url)
				if err != nil {
					t.Fatal(err)
				}
				var out, errOut strings.Builder
				o := remotecommand.StreamOptions{Stdout: &out, Tty: tc.req.Tty}
				if tc.req.Stderr && !tc.req.Tty {
					o.Stderr = &errOut
				}
				if tc.req.Stdin {
					o.Stdin = strings.NewReader(tc.stdin)
				}
				if tc.req.Tty {
					q := sizeQueue{make(chan remotecommand.TerminalSize, 1)}
					q.sizes <- remotecommand.TerminalSize{Width: 120, Height: 40}
					defer close(q.sizes)
					o.TerminalSizeQueue = q
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err = ex.StreamWithContext(ctx, o)
				code := 0
				var ce utilexec.CodeExitError
				if errors.As(err, &ce) {
					code = ce.Code
				} else if err != nil {
					t.Fatalf("stream: %v", err)
				}
				if code != tc.wantCode || out.String() != tc.wantOut || errOut.String() != tc.wantErrOut {
					t.Errorf("got code %d out %q err %q, want %d %q %q", code, out.String(), errOut.String(), tc.wantCode, tc.wantOut, tc.wantErrOut)
				}
			})
		}
	}
	t.Run("attach", func(t *testing.T) {
		resp, err := s.GetAttach(&runtimeapi.AttachRequest{ContainerId: "c2", Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(resp.Url)
		ex, err := remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", pu)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if err := ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: &out}); err != nil || out.String() != "attached:c2\n" {
			t.Errorf("attach: %v, output %q", err, out.String())
		}
	})
	t.Run("token used once", func(t *testing.T) {
		resp, _ := s.GetExec(&runtimeapi.ExecRequest{ContainerId: "c", Cmd: []string{"0"}, Stdout: true})
		for i, wantOK := range []bool{true, false} {
			pu, _ := url.Parse(resp.Url)
			ex, _ := remotecommand.NewSPDYExecutor(&restclient.Config{}, "POST", pu)
			err := ex.StreamWithContext(context.Background(), remotecommand.StreamOptions{Stdout: io.Discard})
			if (err == nil) != wantOK {
				t.Errorf("use %d: err %v", i+1, err)
			}
		}
	})
}

func TestPortForward(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	s := newTestServer(t, echoRuntime{fwdAddr: l.Addr().String()})
	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "sb", Port: []int32{80}})
	if err != nil {
		t.Fatal(err)
	}
	rt, upgrader, err := spdy.RoundTripperFor(&restclient.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(resp.Url)
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, "POST", pu)
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:80"}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); fw.ForwardPorts() }()
	defer func() { close(stop); wg.Wait() }()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("port-forward not ready")
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("ports %v %v", ports, err)
	}
	for i := range 3 { // several connections over one forward
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0].Local))
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprintf("ping %d\n", i)
		io.WriteString(c, msg)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Errorf("connection %d: read %q %v", i, buf, err)
		}
		c.Close()
	}
}

func TestPortForwardWebSocket(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	s := newTestServer(t, echoRuntime{fwdAddr: l.Addr().String()})
	resp, err := s.GetPortForward(&runtimeapi.PortForwardRequest{PodSandboxId: "sb", Port: []int32{8080}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := websocket.NewConfig(strings.Replace(resp.Url, "http://", "ws://", 1), "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Protocol = []string{"v4.channel.k8s.io"}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(30 * time.Second))
	// First each channel names its port: 8080 little-endian.
	got := map[byte][]byte{}
	for range 2 {
		var msg []byte
		if err := websocket.Message.Receive(ws, &msg); err != nil {
			t.Fatalf("receive: %v", err)
		}
		got[msg[0]] = msg[1:]
	}
	for ch := range byte(2) {
		if string(got[ch]) != "\x90\x1f" {
			t.Errorf("channel %d began with %q, want the port", ch, got[ch])
		}
	}
	if err := websocket.Message.Send(ws, append([]byte{0}, "ping"...)); err != nil {
		t.Fatal(err)
	}
	var echoed []byte
	for len(echoed) < 4 {
		var msg []byte
		if err := websocket.Message.Receive(ws, &msg); err != nil {
			t.Fatalf("receive: %v", err)
		}
		if msg[0] == 0 {
			echoed = append(echoed, msg[1:]...)
		}
	}
	if string(echoed) != "ping" {
		t.Errorf("echoed %q", echoed)
	}
}
