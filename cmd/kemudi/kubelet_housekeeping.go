package main

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	cliflag "k8s.io/component-base/cli/flag"

	"github.com/kemudi/kemudi/internal/kubelet"
)

// housekeepingFlags are the kubelet's flags for log rotation, image
// garbage collection, eviction and static pods (from a directory or a
// URL), with upstream's names.
type housekeepingFlags struct {
	logMaxSize, evictionHard string
}

func (h *housekeepingFlags) register(f *pflag.FlagSet, o *kubelet.Options) {
	h.logMaxSize = resource.NewQuantity(o.ContainerLogMaxSize, resource.BinarySI).String()
	f.StringVar(&h.logMaxSize, "container-log-max-size", h.logMaxSize, "size at which a container's log is rotated (a quantity: 10Mi); 0 rotates none")
	f.IntVar(&o.ContainerLogMaxFiles, "container-log-max-files", o.ContainerLogMaxFiles, "log files kept per container, the current one included (at least 2)")
	f.IntVar(&o.ImageGCHighThresholdPercent, "image-gc-high-threshold", o.ImageGCHighThresholdPercent, "percent of the image filesystem in use at which unused images are removed (100 turns image GC off)")
	f.IntVar(&o.ImageGCLowThresholdPercent, "image-gc-low-threshold", o.ImageGCLowThresholdPercent, "percent of the image filesystem in use that image GC brings usage down to")
	f.DurationVar(&o.ImageMinimumGCAge, "minimum-image-ttl-duration", o.ImageMinimumGCAge, "how long an unused image is kept at least")
	h.evictionHard = kubelet.FormatThresholds(o.EvictionHard)
	f.StringVar(&h.evictionHard, "eviction-hard", h.evictionHard, "hard eviction thresholds: signal<quantity or signal<percent%, comma separated (memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available); those given replace the defaults, \"\" turns eviction off")
	f.StringVar(&o.PodManifestPath, "pod-manifest-path", o.PodManifestPath, "directory of static pod manifests (YAML or JSON), run as pods <name>-<node> with mirror pods in the API; \"\" runs none")
	f.StringVar(&o.ManifestURL, "manifest-url", o.ManifestURL, "URL of static pods (one v1 Pod or a v1 PodList, YAML or JSON), fetched every --http-check-frequency and run as pods <name>-<node> with mirror pods in the API; \"\" runs none")
	f.Var(cliflag.NewColonSeparatedMultimapStringString(&o.ManifestURLHeader), "manifest-url-header", "HTTP headers sent with each fetch of --manifest-url: comma-separated `key:value` pairs ('a:hello,b:again,c:world'); repeatable, a key given again gets another value")
	f.DurationVar(&o.HTTPCheckFrequency, "http-check-frequency", o.HTTPCheckFrequency, "how often --manifest-url is fetched")
	f.DurationVar(&o.VolumeStatsAggPeriod, "volume-stats-agg-period", o.VolumeStatsAggPeriod, "how often pods' volumes are measured for /stats/summary and the kubelet_volume_stats metrics; a negative value turns measuring off")
	f.DurationVar(&o.EvictionPressureTransitionPeriod, "eviction-pressure-transition-period", o.EvictionPressureTransitionPeriod, "how long a pressure condition stays True after its threshold was last crossed")
}

// apply parses what needs parsing into o.
func (h *housekeepingFlags) apply(o *kubelet.Options) error {
	q, err := resource.ParseQuantity(h.logMaxSize)
	if err != nil || q.Sign() < 0 {
		return fmt.Errorf("--container-log-max-size: %q is not a size (want a quantity such as 10Mi)", h.logMaxSize)
	}
	o.ContainerLogMaxSize = q.Value()
	if o.ContainerLogMaxFiles < 2 {
		return fmt.Errorf("--container-log-max-files: %d must be greater than or equal to 2", o.ContainerLogMaxFiles)
	}
	if err := checkImageGC(o.ImageGCHighThresholdPercent, o.ImageGCLowThresholdPercent); err != nil {
		return err
	}
	if o.EvictionHard, err = kubelet.ParseThresholds(h.evictionHard); err != nil {
		return fmt.Errorf("--eviction-hard: %w", err)
	}
	return nil
}

// checkImageGC validates the thresholds as upstream does.
func checkImageGC(high, low int) error {
	switch {
	case high < 0 || high > 100:
		return fmt.Errorf("--image-gc-high-threshold: %d must be between 0 and 100, inclusive", high)
	case low < 0 || low > 100:
		return fmt.Errorf("--image-gc-low-threshold: %d must be between 0 and 100, inclusive", low)
	case low >= high:
		return fmt.Errorf("--image-gc-low-threshold (%d) must be less than --image-gc-high-threshold (%d)", low, high)
	}
	return nil
}
