package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"

	"github.com/kemudi/kemudi/internal/kubelet/metrics"
)

func TestVolumeMeasure(t *testing.T) {
	for _, tc := range []struct {
		name      string
		src       corev1.VolumeSource
		want      measure
		ephemeral bool
	}{
		{"emptyDir on disk", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}, measureDu, true},
		{"emptyDir in memory", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}, measureDu, false},
		{"configMap", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}, measureDuOnce, true},
		{"secret", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}, measureDuOnce, false},
		{"downwardAPI", corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}, measureDuOnce, false},
		{"projected", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}, measureDuOnce, false},
		{"claim", corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}}, measureClaim, false},
		{"generic ephemeral", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}, measureClaim, false},
		{"hostPath", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/x"}}, measureNone, false},
		{"nfs", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{}}, measureNone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, eph := volumeMeasure(&corev1.Volume{Name: "v", VolumeSource: tc.src})
			if m != tc.want || eph != tc.ephemeral {
				t.Errorf("volumeMeasure = %v, %v; want %v, %v", m, eph, tc.want, tc.ephemeral)
			}
		})
	}
}

func TestLocalUID(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  metav1.ObjectMeta
		want string
	}{
		{"a pod of the API", metav1.ObjectMeta{UID: "u1"}, "u1"},
		{"a static pod's mirror: the static pod's", metav1.ObjectMeta{UID: "m1", Annotations: map[string]string{corev1.MirrorPodAnnotationKey: "abc"}}, "abc"},
	} {
		if got := localUID(&corev1.Pod{ObjectMeta: tc.pod}); string(got) != tc.want {
			t.Errorf("%s: localUID = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPVMeasure(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  corev1.PersistentVolumeSource
		want measure
		path string
	}{
		{"local: statfs of its path", corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/data/a"}}, measureStatfs, "/data/a"},
		{"hostPath: none", corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/b"}}, measureNone, ""},
		{"csi: none", corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "d"}}, measureNone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, p := pvMeasure(&corev1.PersistentVolume{Spec: corev1.PersistentVolumeSpec{PersistentVolumeSource: tc.src}})
			if m != tc.want || p != tc.path {
				t.Errorf("pvMeasure = %v %q, want %v %q", m, p, tc.want, tc.path)
			}
		})
	}
}

func TestEphemeralStorage(t *testing.T) {
	t0, t1 := metav1.Unix(100, 0), metav1.Unix(200, 0)
	fs := func(at metav1.Time, used, inodes uint64) *FsStats {
		return &FsStats{Time: at, UsedBytes: u64(used), InodesUsed: u64(inodes)}
	}
	root := &FsStats{Time: t0, CapacityBytes: u64(1000), AvailableBytes: u64(600), Inodes: u64(50), InodesFree: u64(40), UsedBytes: u64(0), InodesUsed: u64(0)}
	for _, tc := range []struct {
		name             string
		containers       []ContainerStats
		volumes          []VolumeStats
		others           []*FsStats
		used, inodes     uint64
		noUsage          bool
		newest           metav1.Time
		capacity, avail  uint64
		wantInodes, free uint64
	}{
		{name: "nothing: no usage", noUsage: true, newest: t0},
		{name: "layers and their logs", containers: []ContainerStats{
			{Name: "a", Rootfs: fs(t0, 10, 1), Logs: fs(t1, 5, 2)},
			{Name: "b", Rootfs: fs(t0, 20, 3)},
		}, used: 35, inodes: 6, newest: t1},
		{name: "logs of a container without a layer do not count", containers: []ContainerStats{
			{Name: "a", Logs: fs(t1, 5, 2)},
			{Name: "b", Rootfs: fs(t0, 20, 3)},
		}, used: 20, inodes: 3, newest: t0},
		{name: "ephemeral volumes, pod logs and /etc/hosts", containers: []ContainerStats{{Name: "a", Rootfs: fs(t0, 10, 1)}},
			volumes: []VolumeStats{{Name: "cache", FsStats: *fs(t0, 1<<20, 4)}, {Name: "cfg", FsStats: *fs(t0, 4096, 2)}},
			others:  []*FsStats{fs(t0, 8, 1), fs(t1, 4096, 1)},
			used:    10 + 1<<20 + 4096 + 8 + 4096, inodes: 1 + 4 + 2 + 1 + 1, newest: t1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ephemeralStorage(root, tc.containers, tc.volumes, tc.others...)
			if tc.noUsage {
				if got.UsedBytes != nil || got.InodesUsed != nil {
					t.Errorf("usage = %v %v, want none", got.UsedBytes, got.InodesUsed)
				}
			} else if got.UsedBytes == nil || *got.UsedBytes != tc.used || got.InodesUsed == nil || *got.InodesUsed != tc.inodes {
				t.Errorf("usage = %v bytes %v inodes, want %d %d", ptr.Deref(got.UsedBytes, 0), ptr.Deref(got.InodesUsed, 0), tc.used, tc.inodes)
			}
			if !got.Time.Equal(&tc.newest) {
				t.Errorf("time = %v, want the newest figure's %v", got.Time, tc.newest)
			}
			// The size is the root filesystem's.
			if *got.CapacityBytes != 1000 || *got.AvailableBytes != 600 || *got.Inodes != 50 || *got.InodesFree != 40 {
				t.Errorf("size = %+v, want the root filesystem's", got)
			}
		})
	}
}

// statsRuntime adds pod sandbox stats to fakeRuntime.
type statsRuntime struct {
	*fakeRuntime
	stats []*runtimeapi.PodSandboxStats
}

func (f statsRuntime) ListPodSandboxStats(context.Context, *runtimeapi.ListPodSandboxStatsRequest, ...grpc.CallOption) (*runtimeapi.ListPodSandboxStatsResponse, error) {
	return &runtimeapi.ListPodSandboxStatsResponse{Stats: f.stats}, nil
}

// fakeImages reports one image filesystem.
type fakeImages struct {
	runtimeapi.ImageServiceClient
	mountpoint string
}

func (f fakeImages) ImageFsInfo(context.Context, *runtimeapi.ImageFsInfoRequest, ...grpc.CallOption) (*runtimeapi.ImageFsInfoResponse, error) {
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{{
		Timestamp: 1, FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: f.mountpoint},
		UsedBytes: &runtimeapi.UInt64Value{Value: 12345}, InodesUsed: &runtimeapi.UInt64Value{Value: 7},
	}}}, nil
}

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Random-free but not sparse: every block is written.
	if err := os.WriteFile(path, []byte(strings.Repeat("x", size)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func blocks(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Blocks) * 512
}

// TestSummaryVolumes measures a pod's volumes on disk and serves them
// in /stats/summary and, for claims, as /metrics' volume gauges.
func TestSummaryVolumes(t *testing.T) {
	tmp := t.TempDir()
	root, logs, pvDir := filepath.Join(tmp, "kubelet"), filepath.Join(tmp, "logs"), filepath.Join(tmp, "pv")
	podDir := filepath.Join(root, "pods", "u1")
	vol := func(plugin, name string) string {
		return filepath.Join(podDir, "volumes", "kubernetes.io~"+plugin, name)
	}
	writeFile(t, filepath.Join(vol("empty-dir", "cache"), "big"), 1<<20)
	writeFile(t, filepath.Join(vol("empty-dir", "cache"), "sub", "small"), 100)
	writeFile(t, filepath.Join(vol("configmap", "cfg"), "key"), 10)
	writeFile(t, filepath.Join(vol("projected", "tok"), "token"), 900)
	writeFile(t, filepath.Join(vol("empty-dir", "mem"), "f"), 10)
	writeFile(t, filepath.Join(pvDir, "msg"), 10)
	writeFile(t, filepath.Join(podDir, "etc-hosts"), 200)
	writeFile(t, filepath.Join(logs, "default_web_u1", "app", "0.log"), 10000)

	claim := func(name, volume string, owner *metav1.OwnerReference) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("c-" + name)},
			Spec:   corev1.PersistentVolumeClaimSpec{VolumeName: volume},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
		if owner != nil {
			c.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		if volume == "" {
			c.Status.Phase = corev1.ClaimPending
		}
		return c
	}
	client := fake.NewClientset(
		claim("data", "pv-data", nil), claim("unused", "pv-data", nil), claim("pending", "", nil),
		claim("web-work", "pv-host", &metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "web", UID: "u1", Controller: ptr.To(true)}),
		claim("web-scratch", "pv-scratch", &metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "web", UID: "u1", Controller: ptr.To(true)}),
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-scratch"}, Spec: corev1.PersistentVolumeSpec{
			ClaimRef:               &corev1.ObjectReference{Namespace: "default", Name: "web-scratch", UID: "c-web-scratch"},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: pvDir}}}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-data"}, Spec: corev1.PersistentVolumeSpec{
			ClaimRef:               &corev1.ObjectReference{Namespace: "default", Name: "data", UID: "c-data"},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: pvDir}}}},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-host"}, Spec: corev1.PersistentVolumeSpec{
			ClaimRef:               &corev1.ObjectReference{Namespace: "default", Name: "web-work", UID: "c-web-work"},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: pvDir}}}},
	)
	v := func(name string, src corev1.VolumeSource) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: src}
	}
	pvc := func(name string) corev1.VolumeSource {
		return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", VolumeMounts: []corev1.VolumeMount{
				{Name: "data"}, {Name: "work"}, {Name: "scratch"}, {Name: "pending"}, {Name: "cache"}}}},
			Volumes: []corev1.Volume{
				v("tok", corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}),
				v("data", pvc("data")),
				v("unused", pvc("unused")),
				v("pending", pvc("pending")),
				v("host", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: tmp}}),
				v("work", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
					Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}}}}}}),
				v("scratch", corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}),
				v("mem", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}),
				v("cfg", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}),
				v("cache", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}),
				// Not set up (no directory): no figures.
				v("missing", corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}),
			}},
	}
	rt := statsRuntime{fakeRuntime: &fakeRuntime{}, stats: []*runtimeapi.PodSandboxStats{{
		Attributes: &runtimeapi.PodSandboxAttributes{Id: "s1", Metadata: &runtimeapi.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"}},
		Linux: &runtimeapi.LinuxPodSandboxStats{Containers: []*runtimeapi.ContainerStats{{
			Attributes:    &runtimeapi.ContainerAttributes{Id: "c1", Metadata: &runtimeapi.ContainerMetadata{Name: "app"}},
			WritableLayer: &runtimeapi.FilesystemUsage{UsedBytes: &runtimeapi.UInt64Value{Value: 4096}, InodesUsed: &runtimeapi.UInt64Value{Value: 3}},
		}}},
	}}}
	s, err := New(Config{
		NodeName: "node-1", Runtime: rt, Images: fakeImages{mountpoint: tmp}, Client: client,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, errors.New("none") },
		Metrics:        metrics.New("node-1"), RootDir: root, PodLogDir: logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := idx.Add(pod); err != nil {
		t.Fatal(err)
	}
	s.pods = corelisters.NewPodLister(idx)
	ctx := context.Background()

	summary := func() PodStats {
		t.Helper()
		code, body := do(t, s, "GET", "/stats/summary")
		if code != 200 {
			t.Fatalf("GET /stats/summary = %d %s", code, body)
		}
		var sum Summary
		if err := json.Unmarshal([]byte(body), &sum); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		if len(sum.Pods) != 1 {
			t.Fatalf("pods: %s", body)
		}
		rt := sum.Node.Runtime
		if rt == nil || rt.ImageFs == nil || *rt.ImageFs.UsedBytes != 12345 || *rt.ImageFs.InodesUsed != 7 || ptr.Deref(rt.ImageFs.CapacityBytes, 0) == 0 || rt.ContainerFs == nil || *rt.ContainerFs.UsedBytes != 12345 {
			t.Errorf("node.runtime: %s", body)
		}
		return sum.Pods[0]
	}

	// Before the first measure: no volume figures.
	if p := summary(); p.VolumeStats != nil {
		t.Errorf("volumes before any measure: %+v", p.VolumeStats)
	}
	s.volumes.update(ctx)
	p := summary()
	var names []string
	byName := map[string]VolumeStats{}
	for _, v := range p.VolumeStats {
		names = append(names, v.Name)
		byName[v.Name] = v
		if v.CapacityBytes == nil || v.AvailableBytes == nil || v.UsedBytes == nil || v.Inodes == nil || v.InodesFree == nil || v.InodesUsed == nil {
			t.Errorf("volume %s lacks a figure: %+v", v.Name, v)
		}
	}
	// Local ephemeral ones first, then the others, each by name.
	if got, want := strings.Join(names, " "), "cache cfg data mem scratch tok"; got != want {
		t.Fatalf("volumes %q, want %q", got, want)
	}
	cacheVol := byName["cache"]
	if *cacheVol.UsedBytes < 1<<20+100 || *cacheVol.InodesUsed != 4 || *cacheVol.CapacityBytes == 0 {
		t.Errorf("emptyDir cache: used %d inodes %d, want >= %d bytes and 4 inodes (dir, big, sub, small)", *cacheVol.UsedBytes, *cacheVol.InodesUsed, 1<<20+100)
	}
	if c := byName["cfg"]; *c.UsedBytes < 10 || *c.InodesUsed != 2 {
		t.Errorf("configMap cfg: used %d inodes %d", *c.UsedBytes, *c.InodesUsed)
	}
	data := byName["data"]
	if data.PVCRef == nil || *data.PVCRef != (PVCReference{Name: "data", Namespace: "default"}) {
		t.Errorf("data's pvcRef = %+v", data.PVCRef)
	}
	// A local volume: the filesystem's figures (statfs), used ones included.
	if *data.UsedBytes == 0 || *data.UsedBytes > *data.CapacityBytes || *data.InodesUsed != *data.Inodes-*data.InodesFree {
		t.Errorf("local volume data: %+v", data.FsStats)
	}
	// A generic ephemeral volume names its claim, <pod>-<volume>.
	if sc := byName["scratch"]; sc.PVCRef == nil || *sc.PVCRef != (PVCReference{Name: "web-scratch", Namespace: "default"}) {
		t.Errorf("scratch's pvcRef = %+v", sc.PVCRef)
	}
	for _, v := range p.VolumeStats {
		if v.Name != "data" && v.Name != "scratch" && v.PVCRef != nil {
			t.Errorf("volume %s has pvcRef %+v", v.Name, v.PVCRef)
		}
	}

	// Container logs and the pod's ephemeral storage.
	app := p.Containers[0]
	if app.Logs == nil || *app.Logs.UsedBytes < 10000 || *app.Logs.InodesUsed != 1 || ptr.Deref(app.Logs.CapacityBytes, 0) == 0 {
		t.Errorf("app's logs: %+v", app.Logs)
	}
	if app.Rootfs == nil || *app.Rootfs.UsedBytes != 4096 || ptr.Deref(app.Rootfs.CapacityBytes, 0) == 0 {
		t.Errorf("app's rootfs: %+v", app.Rootfs)
	}
	wantEph := 4096 + *app.Logs.UsedBytes + *cacheVol.UsedBytes + *byName["cfg"].UsedBytes + blocks(t, filepath.Join(podDir, "etc-hosts"))
	if e := p.EphemeralStorage; e == nil || *e.UsedBytes != wantEph || *e.InodesUsed != 3+1+4+2+1 || ptr.Deref(e.CapacityBytes, 0) == 0 {
		t.Errorf("ephemeral-storage = %+v (used %v), want %d bytes, %d inodes", e, ptr.Deref(e.UsedBytes, 0), wantEph, 3+1+4+2+1)
	}

	// The claim's gauges on /metrics; claims without figures have none.
	code, body := do(t, s, "GET", "/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		"# HELP kubelet_volume_stats_used_bytes [ALPHA] Number of used bytes in the volume\n",
		"# TYPE kubelet_volume_stats_capacity_bytes gauge\n",
		`kubelet_volume_stats_capacity_bytes{namespace="default",persistentvolumeclaim="data"} `,
		`kubelet_volume_stats_available_bytes{namespace="default",persistentvolumeclaim="data"} `,
		`kubelet_volume_stats_used_bytes{namespace="default",persistentvolumeclaim="data"} `,
		`kubelet_volume_stats_inodes{namespace="default",persistentvolumeclaim="data"} `,
		`kubelet_volume_stats_inodes_free{namespace="default",persistentvolumeclaim="data"} `,
		`kubelet_volume_stats_inodes_used{namespace="default",persistentvolumeclaim="data"} `,
		`kubelet_volume_stats_used_bytes{namespace="default",persistentvolumeclaim="web-scratch"} `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "web-work") || strings.Contains(body, `"pending"`) || strings.Contains(body, `"unused"`) {
		t.Errorf("/metrics has gauges of claims without figures")
	}

	// The next measure sees the emptyDir grow; the configMap's figures
	// are kept from the first, as upstream.
	writeFile(t, filepath.Join(vol("empty-dir", "cache"), "more"), 1<<20)
	writeFile(t, filepath.Join(vol("configmap", "cfg"), "key2"), 10)
	s.volumes.update(ctx)
	p = summary()
	for _, v := range p.VolumeStats {
		switch v.Name {
		case "cache":
			if *v.UsedBytes < 2<<20 || *v.InodesUsed != 5 {
				t.Errorf("cache after growing: used %d inodes %d", *v.UsedBytes, *v.InodesUsed)
			}
		case "cfg":
			if *v.InodesUsed != 2 {
				t.Errorf("cfg measured again: inodes %d, want the first measure's 2", *v.InodesUsed)
			}
		}
	}

	// Only CPU and memory, when asked (upstream's query): no filesystem.
	if code, body := do(t, s, "GET", "/stats/summary?only_cpu_and_memory=true"); code != 200 || strings.Contains(body, `"volume"`) ||
		strings.Contains(body, "ephemeral-storage") || strings.Contains(body, `"runtime"`) || strings.Contains(body, `"logs"`) {
		t.Errorf("only_cpu_and_memory: %d %s", code, body)
	}

	// A pod gone: its figures go.
	if err := idx.Delete(pod); err != nil {
		t.Fatal(err)
	}
	s.volumes.update(ctx)
	if _, ok := s.volumes.get("u1"); ok {
		t.Error("figures of a deleted pod kept")
	}
}

// TestVolumeStatsBackground: the figures are measured at start and again
// every period, without a request asking.
func TestVolumeStatsBackground(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "pods", "u1", "volumes", "kubernetes.io~empty-dir", "cache")
	writeFile(t, filepath.Join(dir, "a"), 1<<20)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}}
	c := newVolumeStatsCache(20*time.Millisecond, filepath.Join(root, "pods"), fake.NewClientset(),
		func() ([]*corev1.Pod, error) { return []*corev1.Pod{pod}, nil }, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.run(ctx, func() bool { return true }); close(done) }()
	defer func() { cancel(); <-done }()
	waitUsed := func(min uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, ok := c.get("u1")
			if ok && len(st.ephemeral) == 1 && *st.ephemeral[0].UsedBytes >= min {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("cache's figures %+v after 10 s, want >= %d bytes used", st, min)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitUsed(1 << 20)
	writeFile(t, filepath.Join(dir, "b"), 1<<20)
	waitUsed(2 << 20)
}

// TestVolumeStatsOff: a negative period (--volume-stats-agg-period=-1s)
// turns measuring off, as upstream: run returns at once, nothing is
// measured.
func TestVolumeStatsOff(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "pods", "u1", "volumes", "kubernetes.io~empty-dir", "cache", "a"), 1<<10)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "u1"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}}
	c := newVolumeStatsCache(-time.Second, filepath.Join(root, "pods"), fake.NewClientset(),
		func() ([]*corev1.Pod, error) { return []*corev1.Pod{pod}, nil }, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { c.run(context.Background(), func() bool { return true }); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run still measuring 10 s after it started with measuring off")
	}
	if st, ok := c.get("u1"); ok {
		t.Errorf("figures %+v measured with measuring off", st)
	}
}
