package framework

import (
	"math"
	"sync"
	"sync/atomic"
)

// parallelize runs do(i) for i in [0, n) on up to workers goroutines
// (the caller's among them), in chunks about √n long as upstream's
// parallelizer does, until every i ran or stop() is true.
func parallelize(workers, n int, stop func() bool, do func(i int)) {
	if n == 0 {
		return
	}
	chunk := int(math.Sqrt(float64(n)))
	chunk = max(1, min(chunk, n/max(1, workers)+1))
	chunks := (n + chunk - 1) / chunk
	workers = max(1, min(workers, chunks))
	var next atomic.Int64
	run := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks || stop() {
				return
			}
			for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
				do(i)
			}
		}
	}
	if workers == 1 {
		run()
		return
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
}
