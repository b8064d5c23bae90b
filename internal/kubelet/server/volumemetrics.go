package server

import "github.com/prometheus/client_golang/prometheus"

// Upstream's kubelet_volume_stats_* gauges: the figures of each claim a
// pod of the node uses, from the volume stats' last measure.
var (
	volumeLabels       = []string{"namespace", "persistentvolumeclaim"}
	volumeCapacityDesc = prometheus.NewDesc("kubelet_volume_stats_capacity_bytes",
		"[ALPHA] Capacity in bytes of the volume", volumeLabels, nil)
	volumeAvailableDesc = prometheus.NewDesc("kubelet_volume_stats_available_bytes",
		"[ALPHA] Number of available bytes in the volume", volumeLabels, nil)
	volumeUsedDesc = prometheus.NewDesc("kubelet_volume_stats_used_bytes",
		"[ALPHA] Number of used bytes in the volume", volumeLabels, nil)
	volumeInodesDesc = prometheus.NewDesc("kubelet_volume_stats_inodes",
		"[ALPHA] Maximum number of inodes in the volume", volumeLabels, nil)
	volumeInodesFreeDesc = prometheus.NewDesc("kubelet_volume_stats_inodes_free",
		"[ALPHA] Number of free inodes in the volume", volumeLabels, nil)
	volumeInodesUsedDesc = prometheus.NewDesc("kubelet_volume_stats_inodes_used",
		"[ALPHA] Number of used inodes in the volume", volumeLabels, nil)
)

type volumeStatsCollector struct {
	volumes *volumeStatsCache
}

func (c volumeStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{volumeCapacityDesc, volumeAvailableDesc, volumeUsedDesc,
		volumeInodesDesc, volumeInodesFreeDesc, volumeInodesUsedDesc} {
		ch <- d
	}
}

func (c volumeStatsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.volumes.claimed() {
		for _, g := range []struct {
			desc *prometheus.Desc
			v    *uint64
		}{
			{volumeCapacityDesc, v.CapacityBytes}, {volumeAvailableDesc, v.AvailableBytes}, {volumeUsedDesc, v.UsedBytes},
			{volumeInodesDesc, v.Inodes}, {volumeInodesFreeDesc, v.InodesFree}, {volumeInodesUsedDesc, v.InodesUsed},
		} {
			var n float64
			if g.v != nil {
				n = float64(*g.v)
			}
			ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, n, v.PVCRef.Namespace, v.PVCRef.Name)
		}
	}
}
