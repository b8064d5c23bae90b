package queue

import (
	"container/heap"

	"k8s.io/apimachinery/pkg/types"
)

// podHeap is a heap of queued pods with lookup and removal by UID.
type podHeap struct {
	items []*QueuedPodInfo
	index map[types.UID]int
	less  func(a, b *QueuedPodInfo) bool
}

func newPodHeap(less func(a, b *QueuedPodInfo) bool) *podHeap {
	return &podHeap{index: map[types.UID]int{}, less: less}
}

// heap.Interface, on the heap's own slice.
type heapImpl podHeap

func (h *heapImpl) Len() int           { return len(h.items) }
func (h *heapImpl) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *heapImpl) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].Pod.UID] = i
	h.index[h.items[j].Pod.UID] = j
}
func (h *heapImpl) Push(x any) {
	p := x.(*QueuedPodInfo)
	h.index[p.Pod.UID] = len(h.items)
	h.items = append(h.items, p)
}
func (h *heapImpl) Pop() any {
	last := len(h.items) - 1
	p := h.items[last]
	h.items[last] = nil
	h.items = h.items[:last]
	delete(h.index, p.Pod.UID)
	return p
}

func (h *podHeap) len() int { return len(h.items) }

// add inserts p, or replaces the entry with its UID and reorders.
func (h *podHeap) add(p *QueuedPodInfo) {
	if i, ok := h.index[p.Pod.UID]; ok {
		h.items[i] = p
		heap.Fix((*heapImpl)(h), i)
		return
	}
	heap.Push((*heapImpl)(h), p)
}

func (h *podHeap) get(uid types.UID) (*QueuedPodInfo, bool) {
	i, ok := h.index[uid]
	if !ok {
		return nil, false
	}
	return h.items[i], true
}

func (h *podHeap) remove(uid types.UID) (*QueuedPodInfo, bool) {
	i, ok := h.index[uid]
	if !ok {
		return nil, false
	}
	return heap.Remove((*heapImpl)(h), i).(*QueuedPodInfo), true
}

func (h *podHeap) peek() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *podHeap) pop() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return heap.Pop((*heapImpl)(h)).(*QueuedPodInfo)
}
