package cri

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/kemudi/kemudi/internal/build"
	"github.com/kemudi/kemudi/internal/cri/image"
)

// buildStore is what a build needs of the image store beyond the CRI's.
type buildStore interface {
	Get(ref string) (image.Image, error)
	Pull(ctx context.Context, ref string, auth *image.Auth) (image.Image, error)
	ConfigFile(ref string) (*v1.ConfigFile, error)
	CommitBuildCache(ctx context.Context, base string, layers []v1.Layer, cfg *v1.ConfigFile) (image.Image, error)
	PrepareRootfs(ctx context.Context, key, imageID string) (image.Rootfs, error)
	Rootfs(key string) (image.Rootfs, error)
	RemoveRootfs(key string) error
	Tag(src, dst string) (image.Image, error)
}

// buildState is where a stage stands after a step: the image holding its
// layers and the config so far. It is what the cache records per step.
type buildState struct {
	ImageID string         `json:"imageId"` // "" = no image yet (FROM scratch)
	Config  *v1.ConfigFile `json:"config"`
	// Dirty: Config is not ImageID's config (a metadata step came after
	// the last layer); an image is committed when one is needed.
	Dirty bool `json:"dirty,omitempty"`

	key  string            // cache key of the last step
	args map[string]string // the stage's ARGs in scope
}

func (s *buildState) clone() *buildState {
	c := *s
	c.Config = s.Config.DeepCopy()
	c.args = map[string]string{}
	for k, v := range s.args {
		c.args[k] = v
	}
	return &c
}

// builder runs one build.
type builder struct {
	r      *Runtime
	store  buildStore
	df     *build.Dockerfile
	req    BuildRequest
	out    io.Writer
	dir    string // scratch space of this build, removed after
	ctxDir string // the extracted context
	id     string

	results   map[int]*buildState // finished stages by index
	step      int                 // steps printed so far (#N)
	sandboxID string              // host-network sandbox of RUN steps, made on the first
	nextKey   int
	cleanups  []func()
}

func (b *builder) printf(format string, args ...any) {
	fmt.Fprintf(b.out, format, args...)
}

func (b *builder) cleanup() {
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}

func (b *builder) run(ctx context.Context, stages []build.Stage) (image.Image, error) {
	var last *buildState
	for _, st := range stages {
		s, err := b.runStage(ctx, st)
		if err != nil {
			return image.Image{}, err
		}
		b.results[st.Index] = s
		last = s
	}
	if err := b.ensureImage(ctx, last); err != nil {
		return image.Image{}, err
	}
	for _, t := range b.req.Tags {
		if _, err := b.store.Tag(last.ImageID, t); err != nil {
			return image.Image{}, err
		}
		b.printf("naming to %s\n", t)
	}
	img, err := b.store.Get(last.ImageID)
	if err != nil {
		return image.Image{}, err
	}
	b.printf("writing image %s\n", img.ID)
	return img, nil
}

func (b *builder) runStage(ctx context.Context, st build.Stage) (*buildState, error) {
	name := st.Name
	if name == "" {
		name = fmt.Sprintf("stage-%d", st.Index)
	}
	total := len(st.Commands) + 1
	b.step++
	b.printf("#%d [%s 1/%d] FROM %s\n", b.step, name, total, st.Base)
	s, err := b.from(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("Dockerfile:%d: FROM %s: %w", st.Line, st.Base, err)
	}
	for i, c := range st.Commands {
		b.step++
		b.printf("#%d [%s %d/%d] %s\n", b.step, name, i+2, total, describe(c))
		start := time.Now()
		next, cached, err := b.runStep(ctx, st, s, c)
		if err != nil {
			return nil, fmt.Errorf("Dockerfile:%d: %s: %w", lineOf(c), describe(c), err)
		}
		s = next
		if _, isArg := c.(*instructions.ArgCommand); isArg {
			continue // nothing to run or cache
		}
		if cached {
			b.printf("#%d CACHED\n", b.step)
		} else {
			b.printf("#%d DONE %.1fs\n", b.step, time.Since(start).Seconds())
		}
	}
	return s, nil
}

// from is a stage's starting point: an earlier stage, scratch, or an
// image from the store (pulled when missing).
func (b *builder) from(ctx context.Context, st build.Stage) (*buildState, error) {
	if st.BaseStage >= 0 {
		prev, ok := b.results[st.BaseStage]
		if !ok {
			return nil, fmt.Errorf("stage %d was not built", st.BaseStage)
		}
		s := prev.clone()
		s.args = map[string]string{}
		return s, nil
	}
	if st.Base == "scratch" {
		cfg := &v1.ConfigFile{Architecture: runtime.GOARCH, OS: "linux", RootFS: v1.RootFS{Type: "layers"}}
		return &buildState{Config: cfg, Dirty: true, key: build.Key("scratch"), args: map[string]string{}}, nil
	}
	img, err := b.store.Get(st.Base)
	if errors.Is(err, image.ErrNotFound) {
		b.printf("pulling %s\n", st.Base)
		img, err = b.store.Pull(ctx, st.Base, nil)
	}
	if err != nil {
		return nil, err
	}
	cfg, err := b.store.ConfigFile(img.ID)
	if err != nil {
		return nil, err
	}
	return &buildState{ImageID: img.ID, Config: cfg, key: build.Key("from", img.ID), args: map[string]string{}}, nil
}

// ensureImage commits s's config as an image when the store has none
// for it yet (after metadata steps, or for scratch).
func (b *builder) ensureImage(ctx context.Context, s *buildState) error {
	if s.ImageID != "" && !s.Dirty {
		return nil
	}
	img, err := b.store.CommitBuildCache(ctx, s.ImageID, nil, s.Config)
	if err != nil {
		return err
	}
	s.ImageID, s.Dirty = img.ID, false
	return nil
}

// runStep runs one instruction on s: from the cache when its key is
// there, else for real. It returns the new state.
func (b *builder) runStep(ctx context.Context, st build.Stage, s *buildState, c instructions.Command) (*buildState, bool, error) {
	next := s.clone()
	if a, ok := c.(*instructions.ArgCommand); ok {
		// ARG changes only what later steps see, not the image.
		return next, false, b.declareArgs(next, st, a)
	}
	if err := build.Expand(c, expansionEnv(s), b.df.Escape); err != nil {
		return nil, false, err
	}
	inputs, err := b.stepInputs(ctx, st, s, c)
	if err != nil {
		return nil, false, err
	}
	key := build.Key(s.key, append([]string{keyText(c)}, inputs.key...)...)
	next.key = key
	if !b.req.NoCache {
		if rec, ok := b.cacheGet(key); ok {
			next.ImageID, next.Config, next.Dirty = rec.ImageID, rec.Config, rec.Dirty
			return next, true, nil
		}
	}
	if err := b.execute(ctx, next, c, inputs); err != nil {
		return nil, false, err
	}
	b.cachePut(key, next)
	return next, false, nil
}

func (b *builder) declareArgs(s *buildState, st build.Stage, a *instructions.ArgCommand) error {
	for _, kv := range a.Args {
		if v, ok := b.req.BuildArgs[kv.Key]; ok {
			s.args[kv.Key] = v
			continue
		}
		if kv.Value == nil {
			s.args[kv.Key] = st.Args[kv.Key] // a global ARG declared again
			continue
		}
		v := *kv.Value
		c := &instructions.ArgCommand{Args: []instructions.KeyValuePairOptional{{Key: kv.Key, Value: &v}}}
		if err := build.Expand(c, expansionEnv(s), b.df.Escape); err != nil {
			return err
		}
		s.args[kv.Key] = *c.Args[0].Value
	}
	return nil
}

// expansionEnv is what $VAR means in an instruction: the stage's ARGs,
// then the image's ENV, which wins.
func expansionEnv(s *buildState) build.Env {
	return append(argEnv(s.args, nil), s.Config.Config.Env...)
}

// argEnv are the ARGs as KEY=VALUE, sorted, leaving out names env sets.
func argEnv(args map[string]string, env build.Env) []string {
	var out []string
	for k, v := range args {
		if _, ok := env.Get(k); !ok {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// stepInput is what a step depends on besides its text: part of its
// cache key, and what executing it needs.
type stepInput struct {
	key     []string
	sources []build.Source // COPY/ADD from the context
	from    string         // COPY --from: the image holding the sources
}

func (b *builder) stepInputs(ctx context.Context, st build.Stage, s *buildState, c instructions.Command) (stepInput, error) {
	var in stepInput
	switch c := c.(type) {
	case *instructions.RunCommand:
		in.key = append(in.key, argEnv(s.args, s.Config.Config.Env)...)
	case *instructions.CopyCommand:
		if c.From != "" {
			id, err := b.copySource(ctx, st, c.From)
			if err != nil {
				return in, err
			}
			in.from = id
			in.key = append(in.key, "from="+id)
			return in, nil
		}
		return b.contextInputs(c.SourcePaths)
	case *instructions.AddCommand:
		for _, p := range c.SourcePaths {
			if isURL(p) {
				return in, fmt.Errorf("%s: remote sources are not supported: download it in a RUN step, or put it in the build context", p)
			}
		}
		return b.contextInputs(c.SourcePaths)
	}
	return in, nil
}

func (b *builder) contextInputs(patterns []string) (stepInput, error) {
	var in stepInput
	srcs, err := build.Sources(b.ctxDir, patterns)
	if err != nil {
		return in, err
	}
	h, err := build.HashSources(srcs)
	if err != nil {
		return in, err
	}
	in.sources = srcs
	in.key = []string{h}
	return in, nil
}

// copySource is the image a COPY --from copies out of: an earlier
// stage's, or an image (pulled when missing).
func (b *builder) copySource(ctx context.Context, st build.Stage, from string) (string, error) {
	if i := b.df.StageRef(from, st.Index); i >= 0 {
		s, ok := b.results[i]
		if !ok {
			return "", fmt.Errorf("--from=%s: stage not built", from)
		}
		if err := b.ensureImage(ctx, s); err != nil {
			return "", err
		}
		return s.ImageID, nil
	}
	img, err := b.store.Get(from)
	if errors.Is(err, image.ErrNotFound) {
		b.printf("pulling %s\n", from)
		img, err = b.store.Pull(ctx, from, nil)
	}
	if err != nil {
		return "", fmt.Errorf("--from=%s: %w", from, err)
	}
	return img.ID, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "git@")
}

// execute applies c to s.
func (b *builder) execute(ctx context.Context, s *buildState, c instructions.Command, in stepInput) error {
	cfg := &s.Config.Config
	switch c := c.(type) {
	case *instructions.RunCommand:
		return b.runCommand(ctx, s, b.shellArgs(s, c.ShellDependantCmdLine), describe(c))
	case *instructions.CopyCommand:
		return b.copy(ctx, s, copyOp{sources: in.sources, from: in.from, patterns: c.SourcePaths, dest: c.DestPath, chown: c.Chown}, describe(c))
	case *instructions.AddCommand:
		return b.copy(ctx, s, copyOp{sources: in.sources, dest: c.DestPath, chown: c.Chown, unpack: c.Unpack == nil || *c.Unpack}, describe(c))
	case *instructions.WorkdirCommand:
		cfg.WorkingDir = workdir(cfg.WorkingDir, c.Path)
		return b.workdir(ctx, s, describe(c))
	case *instructions.EnvCommand:
		env := build.Env(cfg.Env)
		for _, kv := range c.Env {
			env = env.Set(kv.Key, kv.Value)
		}
		cfg.Env = env
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.CmdCommand:
		cfg.Cmd = b.shellArgs(s, c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = b.shellArgs(s, c.ShellDependantCmdLine)
		cfg.Cmd = nil // as docker: an ENTRYPOINT drops the CMD it inherited
	case *instructions.ShellCommand:
		cfg.Shell = c.Shell
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.MaintainerCommand:
		s.Config.Author = c.Maintainer
	case *instructions.HealthCheckCommand:
		h := v1.HealthConfig{Test: c.Health.Test, Interval: c.Health.Interval, Timeout: c.Health.Timeout, StartPeriod: c.Health.StartPeriod, Retries: c.Health.Retries}
		cfg.Healthcheck = &h
	default:
		return fmt.Errorf("%s is not supported", strings.ToUpper(c.Name()))
	}
	b.addHistory(s, describe(c), true)
	s.Dirty = true
	return nil
}

// shellArgs is the command of RUN, CMD or ENTRYPOINT: exec form as
// written, shell form through the stage's SHELL (/bin/sh -c).
func (b *builder) shellArgs(s *buildState, cl instructions.ShellDependantCmdLine) []string {
	if !cl.PrependShell {
		return append([]string{}, cl.CmdLine...)
	}
	sh := s.Config.Config.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, sh...), strings.Join(cl.CmdLine, " "))
}

func workdir(cur, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	if cur == "" {
		cur = "/"
	}
	return path.Join(cur, p)
}

func (b *builder) addHistory(s *buildState, createdBy string, empty bool) {
	now := v1.Time{Time: time.Now().UTC().Truncate(time.Second)}
	s.Config.Created = now
	s.Config.History = append(s.Config.History, v1.History{Created: now, CreatedBy: createdBy, Comment: "kemudi image build", EmptyLayer: empty})
}

// keyText is an instruction for its cache key: its name and its words
// after expansion (its exported fields).
func keyText(c instructions.Command) string {
	b, err := json.Marshal(c)
	if err != nil {
		return describe(c)
	}
	return c.Name() + " " + string(b)
}

// describe is an instruction as written, for the output and the history.
func describe(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(c.Name())
}

func lineOf(c instructions.Command) int {
	if l := c.Location(); len(l) > 0 {
		return l[0].Start.Line
	}
	return 0
}
