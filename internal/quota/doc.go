// Package quota holds what ResourceQuota enforcement and accounting share:
// how much of each quota resource an object uses (upstream's evaluators:
// pods, services, persistent volume claims, object counts), whether a
// quota's scopes cover an object, and the arithmetic of checking a request
// against a quota. The API server's quota admission and the resourcequota
// controller both use it; it does no I/O.
package quota
