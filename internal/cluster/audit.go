package cluster

import (
	"log/slog"

	"github.com/kemudi/kemudi/internal/apiserver"
	"github.com/kemudi/kemudi/internal/apiserver/audit"
)

// AuditOptions are upstream's --audit-policy-file and --audit-log-*.
type AuditOptions struct {
	PolicyFile string
	audit.LogOptions
}

// openAudit loads the policy and opens the log; with either missing the
// server records nothing (upstream: no policy, no events).
func openAudit(o AuditOptions, log *slog.Logger) (*apiserver.Auditing, func(), error) {
	switch {
	case o.PolicyFile == "" && o.Path == "":
		return nil, func() {}, nil
	case o.PolicyFile == "":
		log.Warn("--audit-log-path without --audit-policy-file: nothing is audited")
		return nil, func() {}, nil
	case o.Path == "":
		log.Warn("--audit-policy-file without --audit-log-path: nothing is audited")
		return nil, func() {}, nil
	}
	policy, err := audit.LoadPolicy(o.PolicyFile)
	if err != nil {
		return nil, nil, err
	}
	l, err := audit.OpenLog(o.LogOptions)
	if err != nil {
		return nil, nil, err
	}
	return &apiserver.Auditing{Policy: policy, Sink: l}, func() { l.Close() }, nil
}
