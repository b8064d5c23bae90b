// Package resourcequota is upstream's resourcequota controller: it keeps
// every ResourceQuota's status (hard, and what the namespace's objects
// use of each hard resource) in step with the objects, recounting a
// namespace's quotas whenever an object of a counted kind changes there,
// and all of them every sync period. Enforcement is the API server's
// quota admission; both use internal/quota.
package resourcequota
