package csi

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/client-go/kubernetes"
)

// Registrar watches the plugins registry directory and keeps the
// drivers of the sockets there registered, as upstream's plugin manager:
// a new (or replaced) socket is registered, a failed registration is
// tried again, and a driver whose socket went is deregistered.
type Registrar struct {
	dir      string
	drivers  *Drivers
	nodeInfo *nodeInfoWriter
	log      *slog.Logger
	// resync is how often the directory is scanned whatever fsnotify said.
	resync time.Duration

	// seen are the sockets registered, by path, with the modification
	// time they had then (a socket made again is a new registration).
	seen map[string]time.Time
}

// NewRegistrar watches dir (<kubelet root>/plugins_registry) for the
// node's drivers, recording them into drivers and into the node's
// CSINode and annotation through client.
func NewRegistrar(dir, node string, client kubernetes.Interface, drivers *Drivers, log *slog.Logger) *Registrar {
	return &Registrar{
		dir: dir, drivers: drivers, log: log.With("dir", dir), resync: time.Second,
		nodeInfo: &nodeInfoWriter{client: client, node: node},
		seen:     map[string]time.Time{},
	}
}

// Run watches until ctx ends. The node must be registered.
func (r *Registrar) Run(ctx context.Context) error {
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return fmt.Errorf("make %s: %w", r.dir, err)
	}
	if err := r.nodeInfo.ensureCSINode(ctx); err != nil {
		// The CSINode is made with the first driver all the same.
		r.log.Warn("create CSINode", "err", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", r.dir, err)
	}
	defer w.Close()
	if err := w.Add(r.dir); err != nil {
		return fmt.Errorf("watch %s: %w", r.dir, err)
	}
	t := time.NewTicker(r.resync)
	defer t.Stop()
	for {
		r.reconcile(ctx)
		select {
		case <-ctx.Done():
			return nil
		case ev := <-w.Events:
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = w.Add(ev.Name) // drivers may put sockets in subdirectories
				}
			}
		case err := <-w.Errors:
			r.log.Warn("watch plugins registry", "err", err)
		case <-t.C:
		}
	}
}

// reconcile registers the sockets not registered yet (or made again)
// and deregisters those gone.
func (r *Registrar) reconcile(ctx context.Context) {
	now, err := sockets(r.dir)
	if err != nil {
		r.log.Warn("scan plugins registry", "err", err)
		return
	}
	for _, a := range registrationActions(r.seen, now) {
		if a.deregister {
			if err := r.deregister(ctx, a.socket); err != nil {
				r.log.Warn("deregister plugin", "socket", a.socket, "err", err)
				continue
			}
			delete(r.seen, a.socket)
			continue
		}
		if err := r.register(ctx, a.socket); err != nil {
			r.log.Warn("register plugin", "socket", a.socket, "err", err)
			continue
		}
		r.seen[a.socket] = now[a.socket]
	}
}

type registrationAction struct {
	socket     string
	deregister bool // else register
}

// registrationActions is what brings the registered sockets (seen) to
// the ones in the directory (now): deregister the gone and the replaced,
// register the new and the replaced.
func registrationActions(seen, now map[string]time.Time) []registrationAction {
	var out []registrationAction
	for s, at := range seen {
		if t, ok := now[s]; !ok || !t.Equal(at) {
			out = append(out, registrationAction{socket: s, deregister: true})
		}
	}
	for s, t := range now {
		if at, ok := seen[s]; !ok || !t.Equal(at) {
			out = append(out, registrationAction{socket: s})
		}
	}
	sortActions(out)
	return out
}

// sockets are the unix sockets under dir (hidden names skipped, as
// upstream), with their modification times.
func sockets(dir string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSocket == 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		out[p] = fi.ModTime()
		return nil
	})
	return out, err
}

// sortActions puts deregistrations first (a replaced socket goes before
// it comes again), each in path order.
func sortActions(a []registrationAction) {
	slices.SortFunc(a, func(x, y registrationAction) int {
		if x.deregister != y.deregister {
			if x.deregister {
				return -1
			}
			return 1
		}
		return strings.Compare(x.socket, y.socket)
	})
}
