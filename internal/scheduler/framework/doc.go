// Package framework is the scheduler's decision core. It holds what a
// scheduling cycle reads (NodeInfo: a node with the pods on it and their
// aggregated requests; Snapshot: every NodeInfo at one instant, fed
// incrementally by Cache from informer events and assumed pods), the
// plugin interfaces (PreFilter, Filter, PreScore, Score, Reserve,
// PreBind) and the cycle that runs them for one pod
// (Framework.Schedule): filter the nodes in parallel until enough
// feasible ones are found, score those, pick the best. RunReserve,
// RunUnreserve and RunPreBind run the plugins that act once the node is
// chosen.
//
// Nothing here does I/O: the scheduler feeds the cache, asks for a
// decision and acts on it (PreBind plugins may write to the API).
package framework
