package cri

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kemudi/kemudi/internal/cri/supervisor"
)

// killWait bounds the wait for a container to die after SIGKILL.
const killWait = 30 * time.Second

// StopContainer sends the container's stop signal (the pod's, else the
// image's, else SIGTERM), waits up to the timeout for it to exit, then
// kills it. Stopping a stopped container is fine, and so is stopping one
// that is gone (the CRI makes the call idempotent).
func (r *Runtime) StopContainer(ctx context.Context, req *runtimeapi.StopContainerRequest) (*runtimeapi.StopContainerResponse, error) {
	c, err := r.containers.get(req.GetContainerId())
	if errors.Is(err, errNotFound) {
		return &runtimeapi.StopContainerResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(fmt.Errorf("container %s: %w", req.GetContainerId(), err))
	}
	if err := r.stopContainer(ctx, c.ID, time.Duration(req.GetTimeout())*time.Second); err != nil {
		return nil, grpcError(err)
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

func (r *Runtime) stopContainer(ctx context.Context, id string, timeout time.Duration) error {
	unlock := r.locks.lock(id)
	defer unlock()
	c, err := r.containers.get(id)
	if err != nil {
		return nil // removed meanwhile
	}
	if c.State == runtimeapi.ContainerState_CONTAINER_EXITED {
		return nil
	}
	if timeout > 0 && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
		sig, err := stopSignal(c)
		if err != nil {
			r.log.Warn("bad stop signal, using SIGTERM", "container", id, "err", err)
			sig = syscall.SIGTERM
		}
		if done, err := r.signal(ctx, c, sig); err != nil || done {
			return err
		}
		if r.waitExited(ctx, id, timeout) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if done, err := r.signal(ctx, c, syscall.SIGKILL); err != nil || done {
		return err
	}
	if !r.waitExited(ctx, id, killWait) {
		return fmt.Errorf("container %s did not exit within %s of SIGKILL", id, killWait)
	}
	return nil
}

// signal sends sig; done says the container is already gone or exited
// (and the record now says so).
func (r *Runtime) signal(ctx context.Context, c container, sig syscall.Signal) (bool, error) {
	err := r.supervisor.Signal(ctx, c.ID, sig)
	if err == nil {
		return false, nil
	}
	if errors.Is(err, supervisor.ErrNotFound) {
		_, uerr := r.containers.update(c.ID, func(c *container) error {
			c.State = runtimeapi.ContainerState_CONTAINER_EXITED
			if c.FinishedAt == 0 {
				c.FinishedAt = now()
			}
			if c.Reason == "" {
				c.Reason, c.Message = "Unknown", "the supervisor no longer knows this container"
			}
			return nil
		})
		r.events.notifyChange()
		return true, uerr
	}
	if errors.Is(err, supervisor.ErrFailedPrecondition) {
		if st, serr := r.supervisor.State(ctx, c.ID); serr == nil {
			r.applyState(st, -1)
			if st.Status == supervisor.Exited {
				return true, nil
			}
		}
	}
	return false, fmt.Errorf("signal container %s with %v: %w", c.ID, sig, err)
}

// waitExited waits for the record to say EXITED (from the supervisor's
// events); at the deadline it asks the supervisor once more, in case an
// event was missed.
func (r *Runtime) waitExited(ctx context.Context, id string, d time.Duration) bool {
	exited := func(c container) bool { return c.State == runtimeapi.ContainerState_CONTAINER_EXITED }
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if r.waitContainer(wctx, id, exited) == nil {
		return true
	}
	if st, err := r.supervisor.State(context.WithoutCancel(ctx), id); err == nil {
		r.applyState(st, -1)
		return st.Status == supervisor.Exited
	}
	return false
}

// stopSignal is the pod's stop signal, else the image's, else SIGTERM.
func stopSignal(c container) (syscall.Signal, error) {
	if s := c.Config.GetStopSignal(); s != runtimeapi.Signal_SIGNAL_RUNTIME_DEFAULT {
		return parseSignal(strings.TrimPrefix(s.String(), "SIGNAL_"))
	}
	if c.StopSignal != "" {
		return parseSignal(c.StopSignal)
	}
	return syscall.SIGTERM, nil
}

// parseSignal accepts "SIGTERM", "TERM" and "15".
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
