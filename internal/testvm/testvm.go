package testvm

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const qemu = "qemu-system-x86_64"

// GuestWorkDir is where the guest sees Config.WorkDir.
const GuestWorkDir = "/kemudi-vm"

var (
	//go:embed init.sh
	initScript []byte
	//go:embed stage2.sh
	stage2Script []byte
)

// Config is one guest and the command it runs.
type Config struct {
	Kernel Kernel
	// CPUs and MemoryMiB size the guest: 2 and 4096 when zero. Files the
	// command writes (/tmp, /var/lib, /run and the overlay) take memory.
	CPUs, MemoryMiB int
	// Dir is the command's working directory, Env its whole environment
	// (PATH and HOME are added when it has none). The command is Args (a
	// program and its arguments), else Command (a /bin/sh script).
	Dir     string
	Env     []string
	Args    []string
	Command string
	// WorkDir holds the job's files and is the guest's GuestWorkDir: a
	// fresh directory the caller removes.
	WorkDir string
	// Keep are host directories the command needs that may lie where the
	// guest mounts its own /tmp, /run, /var/lib or /var/tmp (a checkout in
	// /tmp): each is at its path in the guest, its writes kept there.
	Keep []string
}

// Result is what the command did and how long the guest took.
type Result struct {
	ExitCode int
	// Output is the command's stdout and stderr; Console the kernel's and
	// the stages' messages.
	Output, Console string
	Elapsed         time.Duration
}

// Run boots a guest, runs cfg.Command in it and powers it off. The error
// is for a guest that did not run the command to its end (it is killed
// when ctx ends); the command's own failure is its ExitCode.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.CPUs == 0 {
		cfg.CPUs = 2
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 4096
	}
	job := cfg.WorkDir
	if err := writeJob(job, cfg); err != nil {
		return Result{}, fmt.Errorf("prepare the guest: %w", err)
	}
	initrd, err := initramfs(cfg.Kernel, initScript)
	if err != nil {
		return Result{}, fmt.Errorf("make the guest's initramfs: %w", err)
	}
	initrdPath := filepath.Join(job, ".initramfs.gz")
	if err := os.WriteFile(initrdPath, initrd, 0o600); err != nil {
		return Result{}, err
	}
	defer os.Remove(initrdPath)
	console := filepath.Join(job, ".console")
	start := time.Now()
	cmd := exec.CommandContext(ctx, qemu, qemuArgs(cfg, initrdPath, console)...)
	// The guest dies with whoever started it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, runErr := cmd.CombinedOutput()
	res := Result{Elapsed: time.Since(start)}
	b, _ := os.ReadFile(console)
	res.Console = string(b)
	b, _ = os.ReadFile(filepath.Join(job, "out"))
	res.Output = string(b)
	if runErr != nil {
		return res, fmt.Errorf("%s: %w\n%s", qemu, runErr, out)
	}
	b, err = os.ReadFile(filepath.Join(job, "status"))
	if err != nil {
		return res, fmt.Errorf("the guest ended before the command did: %w", err)
	}
	if res.ExitCode, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
		return res, fmt.Errorf("the command's exit status %q: %w", b, err)
	}
	return res, nil
}

func qemuArgs(cfg Config, initrd, console string) []string {
	cmdline := strings.Join([]string{
		"console=ttyS0", "quiet", "panic=-1",
		// cgroup v2 alone: no v1 hierarchy can be mounted.
		"cgroup_no_v1=all",
		// Emulated in software, a guest's mitigations only cost time.
		"mitigations=off",
	}, " ")
	share := func(tag, dir string, readonly bool) string {
		s := "local,path=" + dir + ",mount_tag=" + tag + ",security_model=none,multidevs=remap"
		if readonly {
			s += ",readonly=on"
		}
		return s
	}
	return []string{
		"-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "max",
		"-smp", strconv.Itoa(cfg.CPUs), "-m", strconv.Itoa(cfg.MemoryMiB),
		// No network device: the guest reaches nothing but itself.
		"-nodefaults", "-display", "none", "-no-reboot", "-nic", "none",
		"-serial", "file:" + console,
		"-kernel", cfg.Kernel.image(), "-initrd", initrd, "-append", cmdline,
		"-virtfs", share("host", "/", true),
		"-virtfs", share("job", cfg.WorkDir, false),
	}
}

// writeJob writes what the second stage reads from the job's directory.
func writeJob(job string, cfg Config) error {
	if job == "" {
		return errors.New("no WorkDir")
	}
	env := cfg.Env
	if !hasVar(env, "PATH") {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	if !hasVar(env, "HOME") {
		env = append(env, "HOME=/root")
	}
	var run strings.Builder
	run.WriteString("cd " + shellQuote(cfg.Dir) + " || exit 125\n")
	for _, kv := range env {
		run.WriteString("export " + shellQuote(kv) + "\n")
	}
	if len(cfg.Args) > 0 {
		quoted := make([]string, len(cfg.Args))
		for i, a := range cfg.Args {
			quoted[i] = shellQuote(a)
		}
		run.WriteString("exec " + strings.Join(quoted, " ") + "\n")
	} else {
		run.WriteString(cfg.Command + "\n")
	}
	keep, err := keepList(cfg.Keep)
	if err != nil {
		return err
	}
	files := map[string]string{
		"stage2.sh": string(stage2Script),
		"run.sh":    run.String(),
		"release":   cfg.Kernel.Release + "\n",
		"modules":   cfg.Kernel.modules(),
		"keep":      keep,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(job, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, stale := range []string{"out", "status"} {
		if err := os.Remove(filepath.Join(job, stale)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func keepList(dirs []string) (string, error) {
	var b strings.Builder
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			return "", fmt.Errorf("keep %q: not an absolute path", d)
		}
		b.WriteString(filepath.Clean(d) + "\n")
	}
	return b.String(), nil
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
