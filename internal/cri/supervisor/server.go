package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"
)

// server is the supervisor: it owns the containers and sandboxes of the
// node and answers the clients on its socket.
type server struct {
	root string
	log  *slog.Logger
	keep *keeperLink
	rt   containerRuntime

	mu         sync.Mutex
	containers map[string]*container
	sandboxes  map[string]*sandboxRecord
	children   map[int]func(unixWaitStatus, time.Time) // processes we are the parent of, by pid
	orphans    map[int]func(unixWaitStatus, time.Time) // processes the keeper reaps for us, by pid
	unclaimed  map[int]unclaimedExit                   // exits the keeper reported before their watcher came
	reapMu     sync.Mutex                              // held while a child is waited for (reapChild)
	subs       map[chan Event]struct{}
	attachers  *fanout // containers' output to attached clients

	shutdown chan struct{}
	debug    bool // KEMUDI_SUPERVISOR_DEBUG: libcontainer's debug log
	oomFloor int  // the lowest oom_score_adj a container can get here
}

func (s *server) containersDir() string    { return filepath.Join(s.root, "containers") }
func (s *server) libcontainerRoot() string { return filepath.Join(s.root, "libcontainer") }
func (s *server) sandboxesDir() string     { return filepath.Join(s.root, "sandboxes") }
func (s *server) exitsDir() string         { return filepath.Join(s.root, "exits") }
func (s *server) ociBundles() string       { return filepath.Join(s.root, "oci", "bundles") }
func (s *server) ociState() string         { return filepath.Join(s.root, "oci", "state") }

// newRuntime returns the runtime that creates the containers:
// libcontainer, or the OCI runtime binary bin.
func (s *server) newRuntime(bin string) containerRuntime {
	if bin == "" {
		return &libcontainerRuntime{root: s.libcontainerRoot(), debug: s.debug, watchChild: s.watchChild, cgroupView: newCgroupV1View()}
	}
	return newOCIRuntime(bin, s.ociState(), s.ociBundles(), s.watchOrphan)
}

// Serve runs the supervisor under cfg.Root until ctx is done or a client
// asks it to shut down. It is the `serve` mode of kemudi-supervisor,
// started by the keeper with the keeper's link as fd 3.
func Serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	root := cfg.Root
	s := &server{
		root:       root,
		log:        log,
		containers: map[string]*container{},
		sandboxes:  map[string]*sandboxRecord{},
		children:   map[int]func(unixWaitStatus, time.Time){},
		orphans:    map[int]func(unixWaitStatus, time.Time){},
		unclaimed:  map[int]unclaimedExit{},
		subs:       map[chan Event]struct{}{},
		attachers:  newFanout(),
		shutdown:   make(chan struct{}),
		debug:      os.Getenv("KEMUDI_SUPERVISOR_DEBUG") != "",
		oomFloor:   oomScoreFloor(),
	}
	s.rt = s.newRuntime(cfg.OCIRuntime)
	for _, d := range []string{s.containersDir(), s.libcontainerRoot(), s.ociBundles(), s.ociState(), s.sandboxesDir(), s.exitsDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("supervisor state: %w", err)
		}
	}
	keep, held, err := connectKeeper(s)
	if err != nil {
		return err
	}
	s.keep = keep
	if keep.l == nil && cfg.OCIRuntime != "" {
		// The binary's inits and exec'd processes are orphans: without a
		// subreaper to report their exits they would never be recorded.
		return fmt.Errorf("an OCI runtime binary (%s) needs the keeper (run kemudi-supervisor keeper)", cfg.OCIRuntime)
	}
	stopReaper := s.startReaper()
	defer stopReaper()
	if err := s.load(held); err != nil {
		// A record that does not load is reported, not fatal: the other
		// containers must go on being supervised.
		log.Error("loading state", "err", err)
	}
	go keep.run(s)

	socket := socketPath(root)
	os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("listen %s: %w", socket, err)
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		l.Close()
		return err
	}
	log.Info("supervisor serving", "socket", socket, "pid", os.Getpid(), "containers", len(s.containers))
	if cfg.Started != nil {
		cfg.Started()
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-s.shutdown:
		}
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			select {
			case <-s.shutdown:
				keep.send(linkMsg{Op: opShutdown})
				return nil
			default:
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		go s.serveConn(ctx, c)
	}
}

func (s *server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	var wmu sync.Mutex
	enc := json.NewEncoder(c)
	reply := func(r *response) error {
		wmu.Lock()
		defer wmu.Unlock()
		return enc.Encode(r)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			s.log.Warn("bad request", "err", err)
			return
		}
		if req.Method == methodExec || req.Method == methodAttach {
			// A stream has the connection to itself.
			s.serveStream(ctx, c.(*net.UnixConn), req)
			return
		}
		if req.Method == methodEvents {
			go s.streamEvents(ctx, req.ID, reply)
			continue
		}
		go func() {
			result, err := s.dispatch(ctx, req)
			r := &response{ID: req.ID}
			if err != nil {
				r.Error, r.Code = err.Error(), codeOf(err)
			} else if result != nil {
				r.Result, _ = json.Marshal(result)
			}
			reply(r)
			if req.Method == methodShutdown && err == nil {
				s.beginShutdown()
			}
		}()
	}
}

func (s *server) dispatch(ctx context.Context, req request) (any, error) {
	var id idParams
	decodeID := func() error { return decodeJSON(req.Params, &id) }
	switch req.Method {
	case methodPing:
		return pingResult{Pid: os.Getpid(), Version: version(), Runtime: s.rt.name()}, nil
	case methodCreateSandbox:
		var sp SandboxSpec
		if err := decodeJSON(req.Params, &sp); err != nil {
			return nil, err
		}
		return s.createSandbox(sp)
	case methodRemoveSandbox:
		if err := decodeID(); err != nil {
			return nil, err
		}
		return nil, s.removeSandbox(id.ID)
	case methodCreate:
		var sp ContainerSpec
		if err := decodeJSON(req.Params, &sp); err != nil {
			return nil, err
		}
		return s.create(sp)
	case methodSignal:
		var p signalParams
		if err := decodeJSON(req.Params, &p); err != nil {
			return nil, err
		}
		return nil, s.signal(p.ID, p.Signal)
	case methodUpdate:
		var p updateParams
		if err := decodeJSON(req.Params, &p); err != nil {
			return nil, err
		}
		return nil, s.update(p.ID, p.Resources)
	case methodList:
		return s.list(), nil
	case methodListSandboxes:
		return s.listSandboxes(), nil
	case methodExecSync:
		var p execParams
		if err := decodeJSON(req.Params, &p); err != nil {
			return nil, err
		}
		return s.execSync(ctx, p)
	case methodShutdown:
		return nil, s.requestShutdown()
	}
	if err := decodeID(); err != nil {
		return nil, err
	}
	switch req.Method {
	case methodStart:
		return s.start(id.ID)
	case methodState:
		return s.state(id.ID)
	case methodDelete:
		return nil, s.delete(ctx, id.ID)
	case methodStats:
		return s.stats(id.ID)
	case methodReopenLog:
		return nil, s.reopenLog(id.ID)
	case methodSandboxStats:
		return s.sandboxStats(id.ID)
	}
	return nil, fmt.Errorf("%w: unknown method %q", ErrInvalidArgument, req.Method)
}

func decodeJSON(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "devel"
}

// streamEvents answers an Events request: first an empty confirmation once
// subscribed, then every event, until the connection ends.
func (s *server) streamEvents(ctx context.Context, id uint64, reply func(*response) error) {
	ch := make(chan Event, 256)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	if reply(&response{ID: id}) != nil {
		return
	}
	for {
		select {
		case ev := <-ch:
			raw, _ := json.Marshal(ev)
			if reply(&response{ID: id, Result: raw}) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// publish sends ev to every subscriber; a subscriber too slow to keep 256
// events buffered loses events rather than stalling the supervisor.
func (s *server) publish(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- ev:
		default:
			s.log.Warn("event subscriber too slow, event dropped", "event", ev.Type.String(), "id", ev.State.ID)
		}
	}
}

func (s *server) requestShutdown() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.containers {
		if st := c.snapshot(); st.Status == Created || st.Status == Running {
			return fmt.Errorf("%w: container %s is %s", ErrFailedPrecondition, id, st.Status)
		}
	}
	if len(s.sandboxes) > 0 {
		return fmt.Errorf("%w: %d sandboxes remain", ErrFailedPrecondition, len(s.sandboxes))
	}
	return nil
}

// beginShutdown makes Serve return, once the Shutdown call was answered.
func (s *server) beginShutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.shutdown:
	default:
		close(s.shutdown)
	}
}
