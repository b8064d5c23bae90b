package build

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Env is a list of KEY=VALUE as in an image's config; later entries win.
type Env []string

// Get implements shell.EnvGetter.
func (e Env) Get(key string) (string, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(e[i], "="); k == key {
			return v, true
		}
	}
	return "", false
}

// Keys implements shell.EnvGetter.
func (e Env) Keys() []string {
	seen := map[string]bool{}
	var out []string
	for _, kv := range e {
		k, _, _ := strings.Cut(kv, "=")
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// Set returns e with key set to value, in place of an earlier value.
func (e Env) Set(key, value string) Env {
	out := make(Env, 0, len(e)+1)
	found := false
	for _, kv := range e {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			if !found {
				out = append(out, key+"="+value)
				found = true
			}
			continue
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, key+"="+value)
	}
	return out
}

type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapEnv) Keys() []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Expand replaces $VAR and ${VAR} in the words of c that Dockerfiles
// expand (not RUN, CMD and ENTRYPOINT: the shell does), in place. env is
// what is in scope: the image's ENV, then the stage's ARGs.
func Expand(c instructions.Command, env Env, escape rune) error {
	lex := shell.NewLex(escape)
	expand := func(word string) (string, error) {
		out, _, err := lex.ProcessWord(word, env)
		return out, err
	}
	var err error
	switch e := c.(type) {
	case *instructions.RunCommand:
		return nil // the shell expands; RUN's own options (--mount) are refused
	case *instructions.ExposeCommand:
		// BuildKit expands EXPOSE when it dispatches it, not in Expand.
		for i, p := range e.Ports {
			if e.Ports[i], err = expand(p); err != nil {
				break
			}
		}
	case instructions.SupportsSingleWordExpansion:
		err = e.Expand(expand)
	}
	if err != nil {
		return fmt.Errorf("Dockerfile:%d: %w", line(c.Location()), err)
	}
	return nil
}
