package supervisor

import (
	"context"
	"encoding/json"
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The client and the supervisor speak JSON lines over a unix socket: a
// request names a method and carries an ID; the answer carries the same ID,
// so one connection serves concurrent calls. Events is the one streaming
// method: every event comes back as an answer to its request, until the
// connection closes.

const (
	methodCreateSandbox = "CreateSandbox"
	methodRemoveSandbox = "RemoveSandbox"
	methodCreate        = "Create"
	methodStart         = "Start"
	methodSignal        = "Signal"
	methodState         = "State"
	methodList          = "List"
	methodDelete        = "Delete"
	methodUpdate        = "Update"
	methodStats         = "Stats"
	methodReopenLog     = "ReopenLog"
	methodEvents        = "Events"
	methodPing          = "Ping"
	methodShutdown      = "Shutdown"
	methodExecSync      = "ExecSync"
	methodListSandboxes = "ListSandboxes"
	methodSandboxStats  = "SandboxStats"
)

type request struct {
	ID     uint64          `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

type response struct {
	ID     uint64          `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	Code   string          `json:"code,omitempty"`
}

type idParams struct {
	ID string `json:"id"`
}

type signalParams struct {
	ID     string `json:"id"`
	Signal int    `json:"signal"`
}

type updateParams struct {
	ID        string                `json:"id"`
	Resources *specs.LinuxResources `json:"resources"`
}

// pingResult identifies the supervisor that answers.
type pingResult struct {
	Pid     int    `json:"pid"`
	Version string `json:"version"`
	// Runtime is the OCI runtime binary's path; "" for libcontainer.
	Runtime string `json:"runtime,omitempty"`
}

var errorCodes = []struct {
	code string
	err  error
}{
	{"NotFound", ErrNotFound},
	{"AlreadyExists", ErrAlreadyExists},
	{"FailedPrecondition", ErrFailedPrecondition},
	{"InvalidArgument", ErrInvalidArgument},
	{"DeadlineExceeded", context.DeadlineExceeded},
}

func codeOf(err error) string {
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// remoteError is an error the supervisor answered; it unwraps to the
// sentinel its code names, so errors.Is works across the socket.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

func decodeError(r *response) error {
	if r.Error == "" {
		return nil
	}
	e := &remoteError{msg: r.Error}
	for _, c := range errorCodes {
		if c.code == r.Code {
			e.sentinel = c.err
		}
	}
	return e
}
