package cri

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// errNotFound and errAmbiguous are the store's lookup failures; the verbs
// turn them into codes.NotFound.
var (
	errNotFound  = errors.New("not found")
	errAmbiguous = errors.New("ambiguous id prefix")
)

// store keeps records of one kind in memory and each as a JSON file
// (dir/<id>/<file>), so that a restarted runtime finds them again. Readers
// get copies; writers change a record through update, which persists it
// before the change becomes visible.
type store[T any] struct {
	dir  string
	file string
	id   func(*T) string

	mu    sync.RWMutex
	items map[string]*T
}

func newStore[T any](dir, file string, id func(*T) string) *store[T] {
	return &store[T]{dir: dir, file: file, id: id, items: map[string]*T{}}
}

// load reads every record under dir. A record that does not decode is
// reported, not skipped silently: the caller decides.
func (s *store[T]) load() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.dir, err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("read %s: %w", s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		p := filepath.Join(s.dir, e.Name(), s.file)
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) || err == nil && len(b) == 0 {
			// A directory whose record was never written, or written just
			// before the machine stopped (no fsync): cleaned by reconcile.
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("decode %s: %w", p, err)
		}
		s.items[s.id(v)] = v
	}
	return nil
}

// recordDir is where a record and the files that belong to it live.
func (s *store[T]) recordDir(id string) string { return filepath.Join(s.dir, id) }

// add persists and inserts a new record.
func (s *store[T]) add(v T) error {
	id := s.id(&v)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[id]; ok {
		return fmt.Errorf("%s: already exists", id)
	}
	if err := s.write(&v); err != nil {
		return err
	}
	s.items[id] = &v
	return nil
}

// errUnchanged, returned by an update's fn, leaves the record as it was,
// unwritten: the supervisor's event and its reply to the same call carry
// the same state, and each write is a new file.
var errUnchanged = errors.New("unchanged")

// update applies fn to a copy of the record, persists it, then publishes it.
func (s *store[T]) update(id string, fn func(*T) error) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.items[id]
	if !ok {
		var zero T
		return zero, fmt.Errorf("%s: %w", id, errNotFound)
	}
	v := *cur
	if err := fn(&v); errors.Is(err, errUnchanged) {
		return *cur, nil
	} else if err != nil {
		return *cur, err
	}
	if err := s.write(&v); err != nil {
		return *cur, err
	}
	s.items[id] = &v
	return v, nil
}

// remove deletes the record and its directory.
func (s *store[T]) remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.RemoveAll(s.recordDir(id)); err != nil {
		return fmt.Errorf("remove record %s: %w", id, err)
	}
	delete(s.items, id)
	return nil
}

func (s *store[T]) write(v *T) error {
	d := s.recordDir(s.id(v))
	if err := os.MkdirAll(d, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", d, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode record %s: %w", s.id(v), err)
	}
	return writeFileAtomic(filepath.Join(d, s.file), b, 0o600)
}

// get finds a record by full id or by an unambiguous prefix, as crictl
// lets users type.
func (s *store[T]) get(idOrPrefix string) (T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var zero T
	if idOrPrefix == "" {
		return zero, fmt.Errorf("empty id: %w", errNotFound)
	}
	if v, ok := s.items[idOrPrefix]; ok {
		return *v, nil
	}
	var found *T
	for id, v := range s.items {
		if strings.HasPrefix(id, idOrPrefix) {
			if found != nil {
				return zero, fmt.Errorf("%s: %w", idOrPrefix, errAmbiguous)
			}
			found = v
		}
	}
	if found == nil {
		return zero, fmt.Errorf("%s: %w", idOrPrefix, errNotFound)
	}
	return *found, nil
}

// filter returns copies of the records match accepts, ordered by id;
// the others are neither copied nor sorted.
func (s *store[T]) filter(match func(*T) bool) []T {
	s.mu.RLock()
	var out []T
	for _, v := range s.items {
		if match(v) {
			out = append(out, *v)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return s.id(&out[i]) < s.id(&out[j]) })
	return out
}

// list returns copies of every record, ordered by id for stable output.
func (s *store[T]) list() []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]T, 0, len(s.items))
	for _, v := range s.items {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return s.id(&out[i]) < s.id(&out[j]) })
	return out
}

// writeFileAtomic replaces path with data so that a crash of the runtime
// leaves either the old or the new content, never a torn file. It does not
// fsync (a few per pod start, the runtime's largest CPU cost after the
// network): the records must outlive the runtime, not the machine, whose
// stop ends every pod too; a record it emptied is taken for none by load.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// newID returns a CRI id: 64 hex characters, like containerd's.
func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
	}
	return hex.EncodeToString(b[:])
}
