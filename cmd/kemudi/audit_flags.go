package main

import (
	"github.com/spf13/pflag"

	"github.com/kemudi/kemudi/internal/cluster"
)

// addAuditFlags are upstream kube-apiserver's audit flags.
func addAuditFlags(fs *pflag.FlagSet, o *cluster.AuditOptions) {
	fs.StringVar(&o.PolicyFile, "audit-policy-file", "", "audit.k8s.io/v1 Policy: which requests are recorded, at which level")
	fs.StringVar(&o.Path, "audit-log-path", "", `file the audit events are written to, one JSON object a line ("-": standard output)`)
	fs.IntVar(&o.MaxSize, "audit-log-maxsize", 0, "size in megabytes at which the audit log is rotated (0: never)")
	fs.IntVar(&o.MaxBackups, "audit-log-maxbackup", 0, "rotated audit logs kept (0: all)")
	fs.IntVar(&o.MaxAge, "audit-log-maxage", 0, "days a rotated audit log is kept (0: forever)")
}
