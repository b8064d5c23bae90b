package job

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// noIndex is the completion index of a pod that has none (or a bad one).
const noIndex = -1

// completionIndexEnv is the variable through which an Indexed Job's pod
// learns its index.
const completionIndexEnv = "JOB_COMPLETION_INDEX"

// maxGeneratedNameLength is how much of a generateName the API server
// keeps before appending its five random characters.
const maxGeneratedNameLength = 63 - 5

func isIndexed(job *batchv1.Job) bool {
	return job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
}

func hasBackoffLimitPerIndex(job *batchv1.Job) bool {
	return job.Spec.BackoffLimitPerIndex != nil
}

// completionIndex reads the pod's batch.kubernetes.io/job-completion-index
// annotation.
func completionIndex(p *corev1.Pod) int {
	v, ok := p.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		return noIndex
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return noIndex
	}
	return i
}

// validIndex says whether the pod has an index below completions.
func validIndex(p *corev1.Pod, completions int32) bool {
	ix := completionIndex(p)
	return ix != noIndex && ix < int(completions)
}

// interval is a closed range of completion indexes.
type interval struct{ first, last int }

// intervals are sorted, disjoint and non-adjacent ranges, as the status
// fields completedIndexes and failedIndexes write them ("1,3-5,7").
type intervals []interval

// parseIntervals reads "1,3-5" keeping what is below completions; bad
// pieces are skipped (the status is the controller's own writing).
func parseIntervals(s string, completions int) intervals {
	if s == "" {
		return nil
	}
	var out intervals
	for _, part := range strings.Split(s, ",") {
		bounds := strings.SplitN(part, "-", 2)
		first, err := strconv.Atoi(bounds[0])
		if err != nil {
			continue
		}
		if first >= completions {
			break
		}
		last := first
		if len(bounds) == 2 {
			if last, err = strconv.Atoi(bounds[1]); err != nil {
				continue
			}
			last = min(last, completions-1)
		}
		if n := len(out); n > 0 && out[n-1].last == first-1 {
			out[n-1].last = last
		} else {
			out = append(out, interval{first, last})
		}
	}
	return out
}

// String writes the intervals as the status does: ranges of three or more
// with a dash, two neighbours with a comma.
func (iv intervals) String() string {
	var b strings.Builder
	for _, r := range iv {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r.first))
		switch {
		case r.last == r.first+1:
			fmt.Fprintf(&b, ",%d", r.last)
		case r.last > r.first:
			fmt.Fprintf(&b, "-%d", r.last)
		}
	}
	return b.String()
}

// total counts the indexes.
func (iv intervals) total() int {
	n := 0
	for _, r := range iv {
		n += r.last - r.first + 1
	}
	return n
}

// has says whether ix is in the intervals.
func (iv intervals) has(ix int) bool {
	i := sort.Search(len(iv), func(i int) bool { return iv[i].last >= ix })
	return i < len(iv) && iv[i].first <= ix
}

// with returns the union with more indexes.
func (iv intervals) with(indexes ...int) intervals {
	add := make(intervals, 0, len(indexes))
	sorted := append([]int(nil), indexes...)
	sort.Ints(sorted)
	for _, ix := range sorted {
		add = append(add, interval{ix, ix})
	}
	return iv.merge(add)
}

// merge returns the union of two interval lists.
func (iv intervals) merge(other intervals) intervals {
	all := make(intervals, 0, len(iv)+len(other))
	all = append(all, iv...)
	all = append(all, other...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].first < all[j].first })
	var out intervals
	for _, r := range all {
		if n := len(out); n > 0 && r.first <= out[n-1].last+1 {
			out[n-1].last = max(out[n-1].last, r.last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// indexesOf returns the set of valid indexes of the pods.
func indexesOf(pods []*corev1.Pod) []int {
	seen := map[int]bool{}
	var out []int
	for _, p := range pods {
		if ix := completionIndex(p); ix != noIndex && !seen[ix] {
			seen[ix] = true
			out = append(out, ix)
		}
	}
	return out
}

// firstPendingIndexes returns up to count indexes below completions that
// are neither done (nonPending) nor running, lowest first.
func firstPendingIndexes(nonPending intervals, count, completions int) []int {
	var out []int
	candidate := 0
	for _, r := range nonPending {
		for ; candidate < completions && len(out) < count && candidate < r.first; candidate++ {
			out = append(out, candidate)
		}
		candidate = max(candidate, r.last+1)
	}
	for ; candidate < completions && len(out) < count; candidate++ {
		out = append(out, candidate)
	}
	return out
}

// duplicateIndexPods splits active pods of an Indexed Job into those to
// remove (no index, an index out of range, or all but the best of pods
// sharing an index) and those to keep.
func duplicateIndexPods(pods []*corev1.Pod, completions int32, less func(a, b *corev1.Pod) bool) (rm, keep []*corev1.Pod) {
	byIndex := map[int][]*corev1.Pod{}
	var order []int
	for _, p := range pods {
		ix := completionIndex(p)
		if ix == noIndex || ix >= int(completions) {
			rm = append(rm, p)
			continue
		}
		if _, ok := byIndex[ix]; !ok {
			order = append(order, ix)
		}
		byIndex[ix] = append(byIndex[ix], p)
	}
	sort.Ints(order)
	for _, ix := range order {
		same := byIndex[ix]
		sort.SliceStable(same, func(i, j int) bool { return less(same[i], same[j]) })
		rm = append(rm, same[:len(same)-1]...)
		keep = append(keep, same[len(same)-1])
	}
	return rm, keep
}

// withIndex sets up a template for the pod of one index: the index
// annotation and label, the hostname <job>-<index>, and
// JOB_COMPLETION_INDEX in every container.
func withIndex(t *corev1.PodTemplateSpec, jobName string, ix int) {
	if t.Annotations == nil {
		t.Annotations = map[string]string{}
	}
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Annotations[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(ix)
	t.Labels[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(ix)
	t.Spec.Hostname = fmt.Sprintf("%s-%d", jobName, ix)
}

// addIndexEnv adds JOB_COMPLETION_INDEX, from the index label, to every
// container that does not set it.
func addIndexEnv(spec *corev1.PodSpec) {
	add := func(c *corev1.Container) {
		for _, e := range c.Env {
			if e.Name == completionIndexEnv {
				return
			}
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: completionIndexEnv, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.labels['%s']", batchv1.JobCompletionIndexAnnotation)},
		}})
	}
	for i := range spec.InitContainers {
		add(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		add(&spec.Containers[i])
	}
}

// indexedGenerateName is "<job>-<index>-", the job name cut so that the
// whole fits a generated name.
func indexedGenerateName(jobName string, ix int) string {
	suffix := "-" + strconv.Itoa(ix) + "-"
	prefix := jobName + suffix
	if len(prefix) > maxGeneratedNameLength {
		prefix = prefix[:maxGeneratedNameLength-len(suffix)] + suffix
	}
	return prefix
}
