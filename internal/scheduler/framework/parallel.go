package framework

import (
	"math"
	"sync"
	"sync/atomic"
)

// parallelize runs do(w, i) for i in [0, n) on up to workers goroutines
// (the caller's among them; w is the goroutine's number), in chunks
// about √n long as upstream's parallelizer does, until every i ran or
// stop(), checked before each chunk, is true.
func parallelize(workers, n int, stop func() bool, do func(w, i int)) {
	if n == 0 {
		return
	}
	chunk := int(math.Sqrt(float64(n)))
	chunk = max(1, min(chunk, n/max(1, workers)+1))
	chunks := (n + chunk - 1) / chunk
	workers = max(1, min(workers, chunks))
	var next atomic.Int64
	run := func(w int) {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks || stop() {
				return
			}
			for i := c * chunk; i < min(n, (c+1)*chunk); i++ {
				do(w, i)
			}
		}
	}
	if workers == 1 {
		run(0)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { run(w) })
	}
	run(0)
	wg.Wait()
}
