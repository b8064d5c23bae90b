package build

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Stage is one stage to build, its FROM resolved.
type Stage struct {
	Index int    // in the Dockerfile
	Name  string // "" when unnamed
	// Base is what FROM names, its variables expanded: "scratch", an image
	// reference, or (BaseStage >= 0) an earlier stage.
	Base      string
	BaseStage int
	// Args are the ARGs declared before the first FROM with their values
	// (defaults overridden by build args); a stage sees those it declares
	// again.
	Args     map[string]string
	Commands []instructions.Command
	Line     int
}

// Plan picks the stages that target (a stage name or index; "" = the
// last stage) needs, in build order, and resolves their FROM lines with
// the build args.
func (d *Dockerfile) Plan(target string, buildArgs map[string]string) ([]Stage, error) {
	meta, err := d.metaArgs(buildArgs)
	if err != nil {
		return nil, err
	}
	last := len(d.Stages) - 1
	if target != "" {
		i, ok := d.stageIndex(target, len(d.Stages))
		if !ok {
			return nil, fmt.Errorf("target stage %q could not be found", target)
		}
		last = i
	}
	all := make([]Stage, last+1)
	lex := shell.NewLex(d.Escape)
	for i, s := range d.Stages[:last+1] {
		base, _, err := lex.ProcessWord(s.BaseName, mapEnv(meta))
		if err != nil {
			return nil, fmt.Errorf("Dockerfile:%d: FROM %s: %w", line(s.Location), s.BaseName, err)
		}
		if base == "" {
			return nil, fmt.Errorf("Dockerfile:%d: FROM %s: empty base image name", line(s.Location), s.BaseName)
		}
		st := Stage{Index: i, Name: s.Name, Base: base, BaseStage: -1, Args: meta, Commands: s.Commands, Line: line(s.Location)}
		if j, ok := d.stageIndex(base, i); ok {
			st.BaseStage = j
		}
		all[i] = st
	}
	need := map[int]bool{last: true}
	for i := last; i >= 0; i-- {
		if !need[i] {
			continue
		}
		for _, dep := range d.deps(all[i]) {
			need[dep] = true
		}
	}
	var out []Stage
	for i := range all {
		if need[i] {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// deps are the earlier stages a stage builds on or copies from. A
// COPY --from naming no earlier stage names an image.
func (d *Dockerfile) deps(s Stage) []int {
	var out []int
	if s.BaseStage >= 0 {
		out = append(out, s.BaseStage)
	}
	for _, c := range s.Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
			if j, ok := d.stageIndex(cp.From, s.Index); ok && !slices.Contains(out, j) {
				out = append(out, j)
			}
		}
	}
	return out
}

// StageIndex finds the stage name refers to (a name, case-insensitively,
// or an index) among the first n stages.
func (d *Dockerfile) stageIndex(name string, n int) (int, bool) {
	for i, s := range d.Stages[:n] {
		if s.Name != "" && strings.EqualFold(s.Name, name) {
			return i, true
		}
	}
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < n {
		return i, true
	}
	return 0, false
}

// StageRef resolves a COPY --from value seen in stage at: the index of an
// earlier stage, or -1 for an image reference.
func (d *Dockerfile) StageRef(from string, at int) int {
	if i, ok := d.stageIndex(from, at); ok {
		return i
	}
	return -1
}

// metaArgs are the values of the ARGs before the first FROM.
func (d *Dockerfile) metaArgs(buildArgs map[string]string) (map[string]string, error) {
	out := map[string]string{}
	lex := shell.NewLex(d.Escape)
	for _, a := range d.MetaArgs {
		for _, kv := range a.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				out[kv.Key] = v
				continue
			}
			if kv.Value == nil {
				out[kv.Key] = ""
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, mapEnv(out))
			if err != nil {
				return nil, fmt.Errorf("Dockerfile:%d: ARG %s: %w", line(a.Location()), kv.Key, err)
			}
			out[kv.Key] = v
		}
	}
	return out, nil
}
