package supervisor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kemudi/kemudi/internal/cri/supervisor/supervisortest"
)

func TestExecSync(t *testing.T) {
	eachRuntime(t, func(t *testing.T, f *fixture) {
		spec := supervisortest.Spec(f.rootfs, f.cgroup("host"), "sleep", "1000")
		spec.Process.Env = append(spec.Process.Env, "FOO=bar")
		f.runSpec(ContainerSpec{ID: "host", Spec: spec})
		f.run("done", "true")
		f.waitStatus(f.c, "done", Exited)
		for _, tc := range []struct {
			name       string
			id         string
			cmd        []string
			timeout    time.Duration
			wantOut    string
			wantErrOut string
			wantCode   int32
			wantErr    error
		}{
			{name: "stdout", id: "host", cmd: []string{"echo", "hi"}, wantOut: "hi\n"},
			{name: "stderr and code", id: "host", cmd: []string{"sh", "-c", "echo e >&2; exit 3"}, wantErrOut: "e\n", wantCode: 3},
			{name: "container env", id: "host", cmd: []string{"sh", "-c", "echo $FOO"}, wantOut: "bar\n"},
			{name: "container processes", id: "host", cmd: []string{"sh", "-c", "ps -o args | grep -c '^sleep 1000'"}, wantOut: "1\n"},
			{name: "timeout", id: "host", cmd: []string{"sleep", "100"}, timeout: 300 * time.Millisecond, wantErr: context.DeadlineExceeded},
			{name: "exited container", id: "done", cmd: []string{"true"}, wantErr: ErrFailedPrecondition},
			{name: "unknown container", id: "nope", cmd: []string{"true"}, wantErr: ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				start := time.Now()
				r, err := f.c.ExecSync(ctx(t), tc.id, tc.cmd, tc.timeout)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err %v, want %v", err, tc.wantErr)
					}
					if tc.timeout > 0 && time.Since(start) > 10*time.Second {
						t.Errorf("timeout took %v", time.Since(start))
					}
					return
				}
				if err != nil {
					t.Fatalf("ExecSync: %v", err)
				}
				if string(r.Stdout) != tc.wantOut || string(r.Stderr) != tc.wantErrOut || r.ExitCode != tc.wantCode {
					t.Errorf("got out %q err %q code %d, want %q %q %d", r.Stdout, r.Stderr, r.ExitCode, tc.wantOut, tc.wantErrOut, tc.wantCode)
				}
			})
		}
		// The container's own state is untouched by the execs.
		if st, err := f.c.State(ctx(t), "host"); err != nil || st.Status != Running {
			t.Errorf("container after execs: %+v %v", st, err)
		}
	})
}
