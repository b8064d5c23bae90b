package build

import (
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      string // "" = no error
	}{
		{"ok", "FROM busybox\nRUN true\n", ""},
		{"unknown instruction", "FROM busybox\nFORM x\n", "Dockerfile:2: unknown instruction: FORM"},
		{"missing argument", "FROM busybox\n\nENV\n", "Dockerfile:3: ENV requires at least one argument"},
		{"COPY without destination", "FROM busybox\nCOPY a\n", "Dockerfile:2: COPY requires at least two arguments"},
		{"no FROM", "RUN true\n", "Dockerfile:1: no build stage in current context"},
		{"empty", "", "Dockerfile: file with no instructions"},
		{"stage named twice", "FROM busybox AS a\nFROM busybox AS A\n", "Dockerfile:2: stage name \"a\" used twice"},
		{"RUN --mount refused", "FROM busybox\nRUN --mount=type=cache,target=/c true\n", "Dockerfile:2: RUN --mount is not supported"},
		{"ONBUILD refused", "FROM busybox\nONBUILD RUN true\n", "Dockerfile:2: ONBUILD is not supported"},
		{"COPY --link refused", "FROM busybox\nCOPY --link a /\n", "Dockerfile:2: COPY --link"},
		{"bad flag", "FROM busybox\nCOPY --nope=1 a /\n", "Dockerfile:2: unknown flag: --nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("", []byte(tc.src))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Parse error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	src := `ARG BASE=busybox
ARG TAG
FROM ${BASE}:${TAG:-latest} AS base
RUN true
FROM scratch AS unused
FROM base AS builder
RUN make
FROM alpine AS final
COPY --from=builder /out /out
COPY --from=0 /x /x
COPY --from=registry.example/other:1 /y /y
`
	d, err := Parse("", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		target string
		args   map[string]string
		want   []string // stage index:base
		err    string
	}{
		{"", nil, []string{"0:busybox:latest", "2:base", "3:alpine"}, ""},
		{"base", nil, []string{"0:busybox:latest"}, ""},
		{"BUILDER", nil, []string{"0:busybox:latest", "2:base"}, ""},
		{"1", nil, []string{"1:scratch"}, ""},
		{"", map[string]string{"BASE": "127.0.0.1:5000/bb", "TAG": "2"}, []string{"0:127.0.0.1:5000/bb:2", "2:base", "3:alpine"}, ""},
		{"nope", nil, nil, `target stage "nope" could not be found`},
		{"7", nil, nil, `target stage "7" could not be found`},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			stages, err := d.Plan(tc.target, tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Plan error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range stages {
				got = append(got, strings.Join([]string{strconv.Itoa(s.Index), s.Base}, ":"))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("stages %v, want %v", got, tc.want)
			}
		})
	}
	if i := d.StageRef("builder", 3); i != 2 {
		t.Errorf("StageRef(builder) = %d", i)
	}
	if i := d.StageRef("final", 3); i != -1 {
		t.Errorf("a stage cannot copy from itself or later: StageRef(final, 3) = %d", i)
	}
}

func TestExpand(t *testing.T) {
	env := Env{"PATH=/bin", "A=1", "A=2", "EMPTY="}
	cases := []struct {
		src  string
		want string // the command's words after Expand, as keyed
	}{
		{"ENV P=$PATH:/x", "P=/bin:/x"},
		{"WORKDIR /a/${A}", "/a/2"},
		{"USER ${NOPE:-nobody}", "nobody"},
		{"COPY --chown=$A:$A src${A} /d/", "2:2 [src2] /d/"},
		{"LABEL k=\"v $A\"", "k=v 2"},
		{"EXPOSE ${PORT:-80}", "[80]"},
		{"RUN echo $A", "[echo $A]"}, // the shell expands RUN
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			d, err := Parse("", []byte("FROM x\n"+tc.src+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			c := d.Stages[0].Commands[0]
			if err := Expand(c, env, d.Escape); err != nil {
				t.Fatal(err)
			}
			if got := words(c); got != tc.want {
				t.Fatalf("expanded to %q, want %q", got, tc.want)
			}
		})
	}
}

func words(c instructions.Command) string {
	switch c := c.(type) {
	case *instructions.EnvCommand:
		return c.Env[0].String()
	case *instructions.WorkdirCommand:
		return c.Path
	case *instructions.UserCommand:
		return c.User
	case *instructions.CopyCommand:
		return c.Chown + " " + strings.Join([]string{"[" + strings.Join(c.SourcePaths, " ") + "]", c.DestPath}, " ")
	case *instructions.LabelCommand:
		return c.Labels[0].String()
	case *instructions.ExposeCommand:
		return "[" + strings.Join(c.Ports, " ") + "]"
	case *instructions.RunCommand:
		return "[" + strings.Join(c.CmdLine, " ") + "]"
	}
	return "?"
}

func TestEnv(t *testing.T) {
	e := Env{"A=1", "B=2"}.Set("A", "3").Set("C", "4")
	if strings.Join(e, ",") != "A=3,B=2,C=4" {
		t.Fatalf("Set: %v", e)
	}
	if v, ok := e.Get("B"); !ok || v != "2" {
		t.Fatalf("Get(B) = %q, %v", v, ok)
	}
	if _, ok := e.Get("Z"); ok {
		t.Fatal("Get(Z) found")
	}
	if k := e.Keys(); strings.Join(k, ",") != "A,B,C" {
		t.Fatalf("Keys: %v", k)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM busybox\nRUN true\n",
		"ARG X=1\nFROM a:${X} AS b\nCOPY --from=b --chown=1:1 a* /d/\nENV A=$X B=\"c d\"\n",
		"# escape=`\nFROM a\nRUN x `\n y\n",
		"FROM a\nRUN <<EOF\nx\nEOF\n",
		"FROM a\nHEALTHCHECK --interval=5s CMD true\n",
	} {
		f.Add([]byte(s), "")
	}
	f.Fuzz(func(t *testing.T, src []byte, target string) {
		d, err := Parse("", src)
		if err != nil {
			return
		}
		stages, err := d.Plan(target, map[string]string{"X": "1"})
		if err != nil {
			return
		}
		for _, s := range stages {
			for _, c := range s.Commands {
				Expand(c, Env{"A=1"}, d.Escape)
			}
		}
	})
}
