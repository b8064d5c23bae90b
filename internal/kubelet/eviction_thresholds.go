package kubelet

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Signal is an eviction signal, named as upstream names it.
type Signal string

// The signals the kubelet observes.
const (
	SignalMemoryAvailable  Signal = "memory.available"
	SignalNodeFsAvailable  Signal = "nodefs.available"
	SignalNodeFsInodesFree Signal = "nodefs.inodesFree"
	SignalImageFsAvailable Signal = "imagefs.available"
	SignalImageFsInodes    Signal = "imagefs.inodesFree"
	SignalPIDAvailable     Signal = "pid.available"
)

// signalOrder is the order signals are acted on: memory first, as upstream.
var signalOrder = []Signal{SignalMemoryAvailable, SignalNodeFsAvailable, SignalNodeFsInodesFree,
	SignalImageFsAvailable, SignalImageFsInodes, SignalPIDAvailable}

// Threshold is one hard eviction threshold: the signal below Quantity,
// or below Percentage of its capacity.
type Threshold struct {
	Signal     Signal
	Quantity   *resource.Quantity
	Percentage float64 // 0..1, used when Quantity is nil
}

// Value is the threshold in the signal's units for a given capacity.
func (t Threshold) Value(capacity int64) int64 {
	if t.Quantity != nil {
		return t.Quantity.Value()
	}
	return int64(float64(capacity) * t.Percentage)
}

// String is the threshold as the flag writes it.
func (t Threshold) String() string {
	return string(t.Signal) + "<" + t.quantityString()
}

func (t Threshold) quantityString() string {
	if t.Quantity != nil {
		return t.Quantity.String()
	}
	return strconv.FormatFloat(t.Percentage*100, 'f', -1, 64) + "%"
}

// DefaultEvictionHard is upstream's default --eviction-hard on Linux.
const DefaultEvictionHard = "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%"

// FormatThresholds writes ts as --eviction-hard takes them.
func FormatThresholds(ts []Threshold) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	return strings.Join(out, ",")
}

// ParseThresholds reads --eviction-hard in upstream's syntax:
// "signal<quantity" or "signal<percent%", comma separated. As upstream,
// the thresholds given replace the defaults; "" means none.
func ParseThresholds(s string) ([]Threshold, error) {
	var out []Threshold
	seen := map[Signal]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "<")
		if !ok {
			return nil, fmt.Errorf("eviction threshold %q: want signal<quantity (the only operator is <)", item)
		}
		sig := Signal(strings.TrimSpace(name))
		if !knownSignal(sig) {
			return nil, fmt.Errorf("eviction threshold %q: unsupported eviction signal %q", item, sig)
		}
		if seen[sig] {
			return nil, fmt.Errorf("eviction threshold %q: found duplicate eviction threshold for signal %v", item, sig)
		}
		seen[sig] = true
		t, err := parseThresholdValue(sig, strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("eviction threshold %q: %w", item, err)
		}
		if t.Quantity == nil && t.Percentage == 0 || t.Quantity != nil && t.Quantity.IsZero() {
			// Upstream: a zero threshold turns the signal off.
			continue
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return signalRank(out[i].Signal) < signalRank(out[j].Signal) })
	return out, nil
}

func parseThresholdValue(sig Signal, v string) (Threshold, error) {
	t := Threshold{Signal: sig}
	if pct, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(pct, 64)
		if err != nil {
			return t, fmt.Errorf("%q is not a percentage", v)
		}
		if f < 0 || f > 100 {
			return t, fmt.Errorf("eviction percentage threshold %s must be between 0%% and 100%%", v)
		}
		t.Percentage = f / 100
		return t, nil
	}
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return t, fmt.Errorf("%q is not a quantity or a percentage: %w", v, err)
	}
	if q.Sign() < 0 {
		return t, fmt.Errorf("eviction threshold %s must be positive", v)
	}
	t.Quantity = &q
	return t, nil
}

func knownSignal(s Signal) bool { return signalRank(s) < len(signalOrder) }

func signalRank(s Signal) int {
	for i, o := range signalOrder {
		if o == s {
			return i
		}
	}
	return len(signalOrder)
}

// Observation is a signal's measure: what is available of a capacity.
type Observation struct{ Available, Capacity int64 }

// Crossed are the thresholds the observations fall below, in the
// order they are acted on. A signal not observed is not crossed.
func Crossed(thresholds []Threshold, obs map[Signal]Observation) []Threshold {
	var out []Threshold
	for _, t := range thresholds {
		o, ok := obs[t.Signal]
		if ok && o.Available < t.Value(o.Capacity) {
			out = append(out, t)
		}
	}
	return out
}

// conditionOf is the node condition a signal's threshold raises.
func conditionOf(s Signal) corev1.NodeConditionType {
	switch s {
	case SignalMemoryAvailable:
		return corev1.NodeMemoryPressure
	case SignalPIDAvailable:
		return corev1.NodePIDPressure
	}
	return corev1.NodeDiskPressure
}

// resourceOf is the resource a signal is short of, as eviction messages name it.
func resourceOf(s Signal) corev1.ResourceName {
	switch s {
	case SignalMemoryAvailable:
		return corev1.ResourceMemory
	case SignalNodeFsInodesFree, SignalImageFsInodes:
		return "inodes"
	case SignalPIDAvailable:
		return "pids"
	}
	return corev1.ResourceEphemeralStorage
}

// PressureConditions are the node conditions under pressure now: those
// whose thresholds are crossed, and those crossed less than period ago
// (upstream's --eviction-pressure-transition-period, so a condition
// does not flap). lastCrossed is updated in place with now for each
// crossed condition.
func PressureConditions(crossed []Threshold, lastCrossed map[corev1.NodeConditionType]time.Time, period time.Duration, now time.Time) map[corev1.NodeConditionType]bool {
	for _, t := range crossed {
		lastCrossed[conditionOf(t.Signal)] = now
	}
	out := map[corev1.NodeConditionType]bool{}
	for c, at := range lastCrossed {
		if now.Sub(at) < period || at.Equal(now) {
			out[c] = true
		}
	}
	return out
}

// HardEvictionReserve is what the hard thresholds take off allocatable,
// as upstream: memory.available and nodefs.available (as
// ephemeral-storage), for a node of that capacity.
func HardEvictionReserve(thresholds []Threshold, capacity corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, t := range thresholds {
		var name corev1.ResourceName
		switch t.Signal {
		case SignalMemoryAvailable:
			name = corev1.ResourceMemory
		case SignalNodeFsAvailable:
			name = corev1.ResourceEphemeralStorage
		default:
			continue
		}
		c := capacity[name]
		out[name] = *resource.NewQuantity(t.Value(c.Value()), resource.BinarySI)
	}
	return out
}
