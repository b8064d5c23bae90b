package kubelet

import "context"

// startHousekeeping starts the node-wide loops beside the pod workers:
// log rotation, image garbage collection, eviction and static pods.
func (k *Kubelet) startHousekeeping(ctx context.Context) {
	loops := []func(context.Context){k.rotateLogsLoop, k.imageGC.loop, k.evictions.loop}
	if k.static != nil {
		loops = append(loops, k.static.loop)
	}
	for _, loop := range loops {
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			loop(ctx)
		}()
	}
}
