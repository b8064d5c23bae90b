package apf

import (
	"sort"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"

	"github.com/kemudi/kemudi/internal/registry/flowcontrol"
	"github.com/kemudi/kemudi/internal/registry/flowcontrol/flowschema"
)

// Request is what classification looks at. For a resource request
// Resource is set (Namespace is "" for cluster-scoped objects); for
// others, Path. Verb is the Kubernetes verb of a resource request, or
// the lower-case HTTP method.
type Request struct {
	User        string
	Groups      []string
	Verb        string
	APIGroup    string
	Resource    string
	Subresource string
	Namespace   string
	Path        string
}

// Match is where a request landed. FlowSchemaHeader and
// PriorityLevelHeader are the response header values (the objects'
// UIDs), made once so that a response carries them without allocating.
type Match struct {
	FlowSchema, PriorityLevel string
	FlowSchemaHeader          []string
	PriorityLevelHeader       []string
}

// Classifier holds the schemas in matching order. It is immutable: the
// server builds a new one when a schema or level changes.
type Classifier struct {
	schemas []schema
}

type schema struct {
	rules []flowcontrolv1.PolicyRulesWithSubjects
	match Match
}

// New builds a classifier from the stored schemas and levels (which it
// does not change or keep). As upstream, a schema whose level does not
// exist is skipped, and the mandatory exempt and catch-all schemas and
// levels are used when they are missing (with empty UIDs).
func New(schemas []*flowcontrolv1.FlowSchema, levels []*flowcontrolv1.PriorityLevelConfiguration) *Classifier {
	plUID := make(map[string]string, len(levels)+2)
	for _, pl := range levels {
		plUID[pl.Name] = string(pl.UID)
	}
	for _, name := range []string{flowcontrolv1.PriorityLevelConfigurationNameExempt, flowcontrolv1.PriorityLevelConfigurationNameCatchAll} {
		if _, ok := plUID[name]; !ok {
			plUID[name] = ""
		}
	}
	seq := make([]*flowcontrolv1.FlowSchema, 0, len(schemas)+2)
	var haveExempt, haveCatchAll bool
	for _, fs := range schemas {
		if _, ok := plUID[fs.Spec.PriorityLevelConfiguration.Name]; ok {
			seq = append(seq, fs)
			haveExempt = haveExempt || fs.Name == flowcontrolv1.FlowSchemaNameExempt
			haveCatchAll = haveCatchAll || fs.Name == flowcontrolv1.FlowSchemaNameCatchAll
		}
	}
	sort.SliceStable(seq, func(i, j int) bool { return flowschema.Less(seq[i], seq[j]) })
	// A missing mandatory schema goes first (exempt) or last (catch-all).
	if !haveExempt {
		seq = append([]*flowcontrolv1.FlowSchema{flowcontrol.MandatoryFlowSchema(flowcontrolv1.FlowSchemaNameExempt)}, seq...)
	}
	if !haveCatchAll {
		seq = append(seq, flowcontrol.MandatoryFlowSchema(flowcontrolv1.FlowSchemaNameCatchAll))
	}
	c := &Classifier{schemas: make([]schema, len(seq))}
	for i, fs := range seq {
		pl := fs.Spec.PriorityLevelConfiguration.Name
		c.schemas[i] = schema{
			rules: fs.Spec.Rules,
			match: Match{
				FlowSchema: fs.Name, PriorityLevel: pl,
				FlowSchemaHeader: []string{string(fs.UID)}, PriorityLevelHeader: []string{plUID[pl]},
			},
		}
	}
	return c
}

// Classify returns the first schema, in matching order, that matches rq.
// The catch-all schema matches every request; nil means none did (a
// catch-all changed to match less is refused by validation).
func (c *Classifier) Classify(rq *Request) *Match {
	for i := range c.schemas {
		s := &c.schemas[i]
		for j := range s.rules {
			if matchesRule(rq, &s.rules[j]) {
				return &s.match
			}
		}
	}
	return nil
}
