package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	crierrors "k8s.io/cri-api/pkg/errors"
)

const createContainerMethod = "/runtime.v1.RuntimeService/CreateContainer"

// imageVolumeCounters are upstream's image volume counters (ImageVolume is
// GA): the image mounts containers are created with, and how many of
// them the runtime mounted or failed to.
type imageVolumeCounters struct {
	requested, succeeded, failed prometheus.Counter
}

func newImageVolumeCounters() imageVolumeCounters {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Subsystem: subsystem, Name: name, Help: help})
	}
	return imageVolumeCounters{
		requested: counter("image_volume_requested_total", "Number of requested image volumes."),
		succeeded: counter("image_volume_mounted_succeed_total", "Number of successful image volume mounts."),
		failed:    counter("image_volume_mounted_errors_total", "Number of failed image volume mounts."),
	}
}

func (c imageVolumeCounters) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.requested, c.succeeded, c.failed}
}

// createContainer counts the image mounts of a CreateContainer call:
// failed when the runtime says ImageVolumeMountFailed (as upstream
// tells them apart), mounted otherwise.
func (c imageVolumeCounters) createContainer(args any, err error) {
	req, ok := args.(*runtimeapi.CreateContainerRequest)
	if !ok {
		return
	}
	n := 0
	for _, m := range req.GetConfig().GetMounts() {
		if m.GetImage() != nil {
			n++
		}
	}
	if n == 0 {
		return
	}
	c.requested.Add(float64(n))
	if err != nil && strings.Contains(status.Convert(err).Message(), crierrors.ErrImageVolumeMountFailed.Error()) {
		c.failed.Add(float64(n))
		return
	}
	c.succeeded.Add(float64(n))
}
