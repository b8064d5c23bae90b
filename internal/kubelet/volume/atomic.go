package volume

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File is one file of a volume whose content comes from the API.
type File struct {
	Data []byte
	Mode os.FileMode
}

const dataDir = "..data"

// writeAtomic makes dir hold exactly files (path → content) as upstream's
// atomic writer does: the content lives in a timestamped directory that
// the symlink ..data points at, swapped with one rename, and each top
// level name is a symlink through ..data. A reader never sees half an
// update. Nothing is written when the content is the same. perms, when
// set, runs after the new content is written and before it is swapped
// in (the pod's fsGroup ownership), as upstream's writer does.
func writeAtomic(dir string, files map[string]File, perms func() error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make volume dir %s: %w", dir, err)
	}
	for p := range files {
		if filepath.IsAbs(p) || strings.HasPrefix(filepath.Clean(p), "..") {
			return fmt.Errorf("invalid path %q in volume", p)
		}
	}
	if same(dir, files) {
		return nil
	}
	ts := "..atomic_" + time.Now().UTC().Format("2006_01_02_15_04_05.000000000")
	tsDir := filepath.Join(dir, ts)
	if err := os.Mkdir(tsDir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", tsDir, err)
	}
	for p, f := range files {
		full := filepath.Join(tsDir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return fmt.Errorf("write %s: %w", full, err)
		}
		if err := os.Chmod(full, f.Mode); err != nil {
			return err
		}
	}
	if perms != nil {
		if err := perms(); err != nil {
			return err
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, dataDir))
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(ts, tmp); err != nil {
		return fmt.Errorf("link %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataDir)); err != nil {
		return fmt.Errorf("swap %s: %w", dataDir, err)
	}
	top := map[string]bool{}
	for p := range files {
		top[strings.SplitN(filepath.ToSlash(filepath.Clean(p)), "/", 2)[0]] = true
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join(dataDir, name) {
			continue
		}
		_ = os.RemoveAll(link)
		if err := os.Symlink(filepath.Join(dataDir, name), link); err != nil {
			return fmt.Errorf("link %s: %w", link, err)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, "..") || top[n] {
			continue
		}
		_ = os.RemoveAll(filepath.Join(dir, n))
	}
	if old != "" && old != ts {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// same reports whether dir already holds exactly files.
func same(dir string, files map[string]File) bool {
	cur := filepath.Join(dir, dataDir)
	n := 0
	err := filepath.Walk(cur+"/", func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(cur, p)
		f, ok := files[rel]
		if !ok || info.Mode().Perm() != f.Mode.Perm() {
			return os.ErrNotExist
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, f.Data) {
			return os.ErrNotExist
		}
		n++
		return nil
	})
	return err == nil && n == len(files)
}
