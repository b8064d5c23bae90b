package csidriver

import (
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/utils/ptr"
)

// Default fills upstream's defaults: volumes attached, no pod info on
// mount, no capacity tracking, fsGroup applied to RWO volumes with a
// filesystem type, persistent volumes only, no republish, no SELinux
// mount option, scheduling not blocked when the driver is missing.
func Default(d *storagev1.CSIDriver) {
	s := &d.Spec
	setIfNil(&s.AttachRequired, true)
	setIfNil(&s.PodInfoOnMount, false)
	setIfNil(&s.StorageCapacity, false)
	if s.FSGroupPolicy == nil {
		s.FSGroupPolicy = ptr.To(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)
	}
	if len(s.VolumeLifecycleModes) == 0 {
		s.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}
	}
	setIfNil(&s.RequiresRepublish, false)
	setIfNil(&s.SELinuxMount, false)
	setIfNil(&s.PreventPodSchedulingIfMissing, false)
}

func setIfNil(p **bool, v bool) {
	if *p == nil {
		*p = ptr.To(v)
	}
}
