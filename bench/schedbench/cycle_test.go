package schedbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kemudi/kemudi/bench/harness"
	"github.com/kemudi/kemudi/internal/scheduler"
	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// BenchmarkCycle measures the scheduling cycle alone, without the API:
// refresh the snapshot, filter and score, assume the pod; 5,000 nodes
// as sim-nodes registers them, the workloads' pods (2,000 per operation,
// after the workload's initial pods). It tells how much of the
// end-to-end figure is the scheduler's own work; cpu-µs/pod is the
// process's CPU time per pod, garbage collection included, which a
// shared machine distorts less than wall time:
//
//	go test -run '^$' -bench Cycle -benchtime 1x ./bench/schedbench
func BenchmarkCycle(b *testing.B) {
	const pods = 2000
	for _, workload := range []string{Basic, AntiAffinity} {
		for _, parallelism := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/parallelism-%d", workload, parallelism), func(b *testing.B) {
				var elapsed, cpu time.Duration
				for range b.N {
					b.StopTimer()
					cache := framework.NewCache()
					for i := range 5000 {
						cache.AddNode(simNode(i))
					}
					plugins, weights := scheduler.DefaultPlugins(nil)
					fw := framework.New(plugins, weights, framework.Options{Parallelism: parallelism, Rand: rand.New(rand.NewPCG(1, 2))})
					snap := framework.NewSnapshot()
					place := func(name string) {
						pod := benchPod("bench", name, workload)
						pod.UID = types.UID(name)
						pi := framework.NewPodInfo(pod)
						cache.UpdateSnapshot(snap)
						res, err := fw.Schedule(context.Background(), framework.NewCycleState(), pi, snap)
						if err != nil {
							b.Fatal(err)
						}
						bound := *pod
						bound.Spec.NodeName = res.Node
						cp := *pi
						cp.Pod = &bound
						if err := cache.AssumePod(&cp, res.Node); err != nil {
							b.Fatal(err)
						}
					}
					if workload == AntiAffinity {
						for i := range 1000 {
							place(fmt.Sprintf("init-%d", i))
						}
					}
					b.StartTimer()
					start, cpu0 := time.Now(), harness.SelfCPUTime()
					for i := range pods {
						place(fmt.Sprintf("p-%d", i))
					}
					elapsed += time.Since(start)
					cpu += harness.SelfCPUTime() - cpu0
				}
				n := float64(b.N * pods)
				b.ReportMetric(n/elapsed.Seconds(), "pods/s")
				b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/pod")
			})
		}
	}
}

// simNode is a node as sim-nodes registers it by default.
func simNode(i int) *corev1.Node {
	name := fmt.Sprintf("node-%04d", i)
	rl := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelHostname: name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64",
		}},
		Status: corev1.NodeStatus{Capacity: rl, Allocatable: rl},
	}
}
