package build

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand // ARGs before the first FROM
	Escape   rune
}

// maxDockerfile bounds what Parse reads; Dockerfiles are small.
const maxDockerfile = 4 << 20

// Parse parses a Dockerfile with BuildKit's parser. Errors name the line
// ("Dockerfile:3: unknown instruction: FORM").
func Parse(name string, src []byte) (*Dockerfile, error) {
	if name == "" {
		name = "Dockerfile"
	}
	if len(src) > maxDockerfile {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxDockerfile)
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, lineError(name, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, lineError(name, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction", name)
	}
	d := &Dockerfile{Stages: stages, MetaArgs: metaArgs, Escape: res.EscapeToken}
	for i, s := range stages {
		for _, c := range s.Commands {
			if err := supported(c); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, line(c.Location()), err)
			}
		}
		if s.Name != "" {
			for _, o := range stages[:i] {
				if strings.EqualFold(o.Name, s.Name) {
					return nil, fmt.Errorf("%s:%d: stage name %q used twice", name, line(s.Location), s.Name)
				}
			}
		}
	}
	return d, nil
}

// lineError puts the line BuildKit's errors carry in front of the
// message.
func lineError(name string, err error) error {
	var loc *parser.LocationError
	if errors.As(err, &loc) && len(loc.Locations) > 0 && len(loc.Locations[0]) > 0 {
		msg := loc.Unwrap().Error()
		n := loc.Locations[0][0].Start.Line
		msg = strings.TrimPrefix(msg, fmt.Sprintf("dockerfile parse error on line %d: ", n))
		if n == 0 {
			return fmt.Errorf("%s: %s", name, msg)
		}
		return fmt.Errorf("%s:%d: %s", name, n, msg)
	}
	return fmt.Errorf("%s: %w", name, err)
}

func line(r []parser.Range) int {
	if len(r) == 0 {
		return 0
	}
	return r[0].Start.Line
}

// supported refuses what the executor cannot do, at parse time, so that a
// build does not fail half way for it.
func supported(c instructions.Command) error {
	switch c := c.(type) {
	case *instructions.RunCommand:
		if len(c.FlagsUsed) > 0 {
			return fmt.Errorf("RUN --%s is not supported", c.FlagsUsed[0])
		}
		if len(c.Files) > 0 {
			return errors.New("RUN with a here-document is not supported")
		}
	case *instructions.CopyCommand:
		if c.Link || c.Parents || len(c.ExcludePatterns) > 0 || c.Chmod != "" {
			return errors.New("COPY --link, --parents, --exclude and --chmod are not supported")
		}
		if len(c.SourceContents) > 0 {
			return errors.New("COPY with a here-document is not supported")
		}
	case *instructions.AddCommand:
		if c.Link || len(c.ExcludePatterns) > 0 || c.Chmod != "" || c.Checksum != "" || c.KeepGitDir != nil {
			return errors.New("ADD --link, --exclude, --chmod, --checksum and --keep-git-dir are not supported")
		}
		if len(c.SourceContents) > 0 {
			return errors.New("ADD with a here-document is not supported")
		}
	case *instructions.OnbuildCommand:
		return errors.New("ONBUILD is not supported")
	}
	return nil
}
