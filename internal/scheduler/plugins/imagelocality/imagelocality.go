// Package imagelocality is the ImageLocality plugin: nodes that already
// hold the pod's images (as their status reports) score higher, more so
// for big images and images few nodes have.
package imagelocality

import (
	"context"
	"fmt"
	"strings"

	"github.com/kemudi/kemudi/internal/scheduler/framework"
)

// Name is the plugin's upstream name.
const Name = "ImageLocality"

// Upstream's thresholds: images below 23 MiB in total count for
// nothing, and each container counts at most 1000 MiB.
const (
	mb                    int64 = 1024 * 1024
	minThreshold                = 23 * mb
	maxContainerThreshold       = 1000 * mb
)

// Plugin is ImageLocality.
type Plugin struct{}

// New returns the plugin.
func New() *Plugin { return &Plugin{} }

// Name implements framework.Plugin.
func (*Plugin) Name() string { return Name }

const preScoreKey framework.StateKey = Name

type preScoreState struct {
	// images are the pod's containers' images, one per container.
	images []string
	// spread is, per image, the share of all nodes holding it.
	spread []float64
}

func (s *preScoreState) Clone() framework.StateData { return s }

// PreScore resolves the pod's image names; pods whose images no node
// holds skip scoring (every node would score 0).
func (*Plugin) PreScore(_ context.Context, state *framework.CycleState, pod *framework.PodInfo, _ []*framework.NodeInfo, snap *framework.Snapshot) *framework.Status {
	s := &preScoreState{}
	numNodes := snap.NumNodes()
	held := false
	add := func(image string) {
		name := normalizedImageName(image)
		n := snap.ImageNumNodes(name)
		held = held || n > 0
		s.images = append(s.images, name)
		s.spread = append(s.spread, float64(n)/float64(max(1, numNodes)))
	}
	for _, c := range pod.Pod.Spec.InitContainers {
		add(c.Image)
	}
	for _, c := range pod.Pod.Spec.Containers {
		add(c.Image)
	}
	if !held {
		return framework.NewStatus(framework.Skip)
	}
	state.Write(preScoreKey, s)
	return nil
}

// Score sums, over the pod's images the node holds, the image's size
// times the share of nodes holding it, clamped and scaled to [0, 100].
func (*Plugin) Score(state *framework.CycleState, _ *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	s, _ := state.Read(preScoreKey).(*preScoreState)
	if s == nil {
		return 0, framework.AsStatus(fmt.Errorf("%s: no PreScore state", Name))
	}
	var sum int64
	for i, name := range s.images {
		if size, ok := node.ImageSizes[name]; ok {
			sum += int64(float64(size) * s.spread[i])
		}
	}
	return priority(sum, len(s.images)), nil
}

func priority(sum int64, containers int) int64 {
	maxThreshold := maxContainerThreshold * int64(containers)
	sum = min(max(sum, minThreshold), maxThreshold)
	return framework.MaxNodeScore * (sum - minThreshold) / (maxThreshold - minThreshold)
}

// normalizedImageName adds ":latest" to a name without tag or digest,
// the way nodes report images.
func normalizedImageName(name string) string {
	if strings.LastIndex(name, ":") <= strings.LastIndex(name, "/") {
		name += ":latest"
	}
	return name
}
