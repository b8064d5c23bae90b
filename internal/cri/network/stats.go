package network

import (
	"fmt"

	"github.com/kemudi/kemudi/internal/netnsrun"
)

// NetStats reads the counters of every interface inside the network
// namespace at netnsPath (lo included; the CRI layer picks eth0 as default).
func NetStats(netnsPath string) ([]InterfaceStats, error) {
	h, err := netnsrun.Netlink(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("net stats: %w", err)
	}
	defer h.Delete()
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("net stats of %s: %w", netnsPath, err)
	}
	out := make([]InterfaceStats, 0, len(links))
	for _, l := range links {
		a := l.Attrs()
		s := InterfaceStats{Name: a.Name}
		if st := a.Statistics; st != nil {
			s.RxBytes, s.RxErrors, s.RxPackets = st.RxBytes, st.RxErrors, st.RxPackets
			s.TxBytes, s.TxErrors, s.TxPackets = st.TxBytes, st.TxErrors, st.TxPackets
			s.RxDropped, s.TxDropped = st.RxDropped, st.TxDropped
		}
		out = append(out, s)
	}
	return out, nil
}
