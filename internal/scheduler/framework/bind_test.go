package framework_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
	st "github.com/kemudi/kemudi/internal/scheduler/schedtest"
)

// stage is a plugin at Reserve and PreBind that answers as told and
// logs its calls.
type stage struct {
	name             string
	reserve, preBind *framework.Status
	log              *[]string
}

func (p *stage) Name() string { return p.name }

func (p *stage) Reserve(_ context.Context, _ *framework.CycleState, _ *framework.PodInfo, node string) *framework.Status {
	*p.log = append(*p.log, "reserve "+p.name+" "+node)
	return p.reserve
}

func (p *stage) Unreserve(_ context.Context, _ *framework.CycleState, _ *framework.PodInfo, node string) {
	*p.log = append(*p.log, "unreserve "+p.name+" "+node)
}

func (p *stage) PreBind(_ context.Context, _ *framework.CycleState, _ *framework.PodInfo, node string) *framework.Status {
	*p.log = append(*p.log, "prebind "+p.name+" "+node)
	return p.preBind
}

// TestReserveAndPreBind: plugins run in order, the first failure stops
// the run and names its plugin as upstream's messages do, Unreserve
// runs every plugin in reverse.
func TestReserveAndPreBind(t *testing.T) {
	boom := framework.AsStatus(errors.New("boom"))
	full := framework.NewStatus(framework.Unschedulable, "no room")
	tests := []struct {
		name        string
		a, b        stage
		reserveMsg  string
		reserveCode framework.Code
		preBindMsg  string
		wantLog     []string
	}{
		{name: "all pass",
			wantLog: []string{"reserve A n1", "reserve B n1", "unreserve B n1", "unreserve A n1", "prebind A n1", "prebind B n1"}},
		{name: "an error names its plugin", a: stage{reserve: boom, preBind: boom},
			reserveMsg: `running Reserve plugin "A": boom`, reserveCode: framework.Error, preBindMsg: `running PreBind plugin "A": boom`,
			wantLog: []string{"reserve A n1", "unreserve B n1", "unreserve A n1", "prebind A n1"}},
		{name: "a rejection keeps its reason", b: stage{reserve: full, preBind: full},
			reserveMsg: "no room", reserveCode: framework.Unschedulable, preBindMsg: "no room",
			wantLog: []string{"reserve A n1", "reserve B n1", "unreserve B n1", "unreserve A n1", "prebind A n1", "prebind B n1"}},
		{name: "skip counts as success", a: stage{reserve: framework.NewStatus(framework.Skip), preBind: framework.NewStatus(framework.Skip)},
			wantLog: []string{"reserve A n1", "reserve B n1", "unreserve B n1", "unreserve A n1", "prebind A n1", "prebind B n1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			a, b := tt.a, tt.b
			a.name, a.log, b.name, b.log = "A", &log, "B", &log
			fw := framework.New([]framework.Plugin{&a, &b}, nil, framework.Options{})
			state, pod := framework.NewCycleState(), framework.NewPodInfo(st.Pod("p"))
			s := fw.RunReserve(t.Context(), state, pod, "n1")
			if s.Message() != tt.reserveMsg || s.Code() != tt.reserveCode {
				t.Errorf("reserve: %v, want %s: %q", s, tt.reserveCode, tt.reserveMsg)
			}
			if !s.IsSuccess() && s.Plugin() == "" {
				t.Errorf("reserve failure names no plugin")
			}
			fw.RunUnreserve(t.Context(), state, pod, "n1")
			if s := fw.RunPreBind(t.Context(), state, pod, "n1"); s.Message() != tt.preBindMsg {
				t.Errorf("prebind: %v, want %q", s, tt.preBindMsg)
			}
			if !slices.Equal(log, tt.wantLog) {
				t.Errorf("calls %v\nwant  %v", log, tt.wantLog)
			}
		})
	}
}
