package controller

import "sync"

// maxSlowStartBatch bounds one batch of parallel calls.
const maxSlowStartBatch = 500

// SlowStart calls fn(i) for each i in [0, n) in parallel batches of 1,
// 2, 4, ... (at most 500 at once), and stops after the first batch in
// which a call failed, as upstream's slowStartBatch: a template the API
// refuses costs one request, not n. It returns how many calls succeeded
// and the errors of the failed batch, in the order of i (none when every
// call succeeded).
func SlowStart(n int, fn func(i int) error) (int, []error) {
	succeeded := 0
	for batch, next := min(n, 1), 0; batch > 0; batch = min(2*batch, n-next, maxSlowStartBatch) {
		errs := make([]error, batch)
		var wg sync.WaitGroup
		for i := 0; i < batch; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = fn(next + i)
			}()
		}
		wg.Wait()
		next += batch
		var failed []error
		for _, err := range errs {
			if err != nil {
				failed = append(failed, err)
			}
		}
		succeeded += batch - len(failed)
		if len(failed) > 0 {
			return succeeded, failed
		}
	}
	return succeeded, nil
}
