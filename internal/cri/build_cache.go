package cri

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// The build cache maps a step's key (build.Key) to the state after it:
// one small file per key under <root>/build/cache, written whole. An
// entry whose image has been removed is a miss.

func (b *builder) cacheFile(key string) string {
	return filepath.Join(b.r.buildDir("cache"), strings.TrimPrefix(key, "sha256:")+".json")
}

func (b *builder) cacheGet(key string) (*buildState, bool) {
	raw, err := os.ReadFile(b.cacheFile(key))
	if err != nil {
		return nil, false
	}
	var s buildState
	if err := json.Unmarshal(raw, &s); err != nil || s.Config == nil {
		return nil, false
	}
	if s.ImageID != "" {
		if _, err := b.store.Get(s.ImageID); err != nil {
			return nil, false
		}
	}
	return &s, true
}

// cachePut records s under key; a cache that cannot be written only
// makes the next build slower.
func (b *builder) cachePut(key string, s *buildState) {
	raw, err := json.Marshal(s)
	if err != nil {
		return
	}
	file := b.cacheFile(key)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		b.r.log.Warn("build cache", "err", err)
		return
	}
	tmp := file + ".tmp-" + b.id
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		b.r.log.Warn("build cache", "err", err)
		os.Remove(tmp)
		return
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
	}
}
