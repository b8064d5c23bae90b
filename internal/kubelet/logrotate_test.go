package kubelet

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestPlanRotation(t *testing.T) {
	const log = "/logs/app/0.log"
	now := time.Date(2026, 12, 6, 4, 5, 6, 0, time.UTC)
	p := LogPolicy{MaxSize: 100, MaxFiles: 5}
	r := func(ts string) string { return log + "." + ts }
	tests := []struct {
		name    string
		size    int64
		rotated []string
		policy  LogPolicy
		want    RotationPlan
	}{
		{name: "under the size: nothing", size: 99, rotated: []string{r("20261206-000000")}, policy: p},
		{name: "rotation off", size: 1 << 30, policy: LogPolicy{MaxFiles: 5}},
		{name: "first rotation", size: 100, policy: p, want: RotationPlan{Rotate: r("20261206-040506")}},
		{name: "the previous newest is compressed", size: 200, policy: p,
			rotated: []string{r("20261206-000001.gz"), r("20261206-000002")},
			want:    RotationPlan{Compress: []string{r("20261206-000002")}, Rotate: r("20261206-040506")}},
		{name: "oldest beyond the count removed (5 files: current, new and 3 kept)", size: 100, policy: p,
			rotated: []string{r("20261206-000004"), r("20261206-000001.gz"), r("20261206-000003.gz"), r("20261206-000002.gz")},
			want: RotationPlan{Remove: []string{r("20261206-000001.gz")}, Compress: []string{r("20261206-000004")},
				Rotate: r("20261206-040506")}},
		{name: "two files: only the current and the one rotated now", size: 100, policy: LogPolicy{MaxSize: 100, MaxFiles: 2},
			rotated: []string{r("20261206-000001")},
			want:    RotationPlan{Remove: []string{r("20261206-000001")}, Rotate: r("20261206-040506")}},
		{name: "leftovers of an interrupted compression", size: 100, policy: p,
			rotated: []string{r("20261206-000001"), r("20261206-000001.gz"), r("20261206-000002.gz.tmp")},
			want: RotationPlan{Remove: []string{r("20261206-000001"), r("20261206-000002.gz.tmp")},
				Rotate: r("20261206-040506")}},
		{name: "rotated this second already", size: 100, policy: p,
			rotated: []string{r("20261206-040506")},
			want:    RotationPlan{Compress: []string{r("20261206-040506")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlanRotation(log, tc.size, tc.rotated, tc.policy, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestCompressLog(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "0.log.20261206-000001")
	want := "2026-12-06T00:00:01Z stdout F hello\n"
	if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := compressLog(p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("the uncompressed file is still there: %v", err)
	}
	f, err := os.Open(p + ".gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || string(got) != want {
		t.Errorf("decompressed %q, %v; want %q", got, err, want)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
}
