package schema

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/cel/environment"
)

// celCreate runs a version's x-kubernetes-validations rules on a
// create, with the results of upstream's cel.Validator for a create (no
// old object, so no ratcheting and no transition rules but those with
// optionalOldSelf), over schemas built once (celSchema). The rules are
// compiled as upstream compiles them; the walk is ours because
// upstream's types every value by a schema adapter that copies on each
// field access. Updates stay with upstream's validator. Safe for
// concurrent use.
type celCreate struct {
	root *celNode
	// oldSelf: a rule refers to oldSelf (a transition rule), so an
	// update's result differs from a create's.
	oldSelf bool
}

// celNode is one schema node with rules, or with rules below it.
type celNode struct {
	// schema is the node's structural schema; sts the one its values are
	// typed by in rules (for a resource root, with kind, apiVersion and
	// metadata's name and generateName).
	schema *structuralschema.Structural
	sts    common.Schema

	rules      []apiextensions.ValidationRule
	compiled   []cel.CompilationResult
	compileErr error
	usesOld    bool

	items, additional *celNode
	properties        map[string]*celNode
	allOf             []*celNode
}

// newCELCreate compiles the rules of s, a resource's structural schema;
// nil when it has none.
func newCELCreate(s *structuralschema.Structural, perCallLimit uint64) *celCreate {
	if !hasRules(s) {
		return nil
	}
	envSet := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	root := newCELNode(s, s, true, model.SchemaDeclType(s, true), perCallLimit, envSet)
	return &celCreate{root: root, oldSelf: root.anyOldSelf()}
}

// anyOldSelf reports whether a rule at or below n refers to oldSelf.
func (n *celNode) anyOldSelf() bool {
	if n == nil {
		return false
	}
	if n.usesOld || n.items.anyOldSelf() || n.additional.anyOldSelf() {
		return true
	}
	for _, c := range n.properties {
		if c.anyOldSelf() {
			return true
		}
	}
	for _, c := range n.allOf {
		if c.anyOldSelf() {
			return true
		}
	}
	return false
}

// newCELNode mirrors how upstream's cel.NewValidator builds its tree, so
// that the same rules compile against the same declared types.
func newCELNode(validation, node *structuralschema.Structural, resourceRoot bool, declType *apiservercel.DeclType, perCallLimit uint64, envSet *environment.EnvSet) *celNode {
	compilation := *node
	compilation.XValidations = validation.XValidations
	compiled, err := cel.Compile(&compilation, declType, perCallLimit, envSet, cel.StoredExpressionsEnvLoader())

	n := &celNode{schema: node, rules: validation.XValidations, compiled: compiled, compileErr: err}
	for _, c := range compiled {
		n.usesOld = n.usesOld || c.UsesOldSelf
	}
	var elem *apiservercel.DeclType
	if declType != nil {
		elem = declType.ElemType
	}
	if validation.Items != nil && node.Items != nil {
		n.items = newCELNode(validation.Items, node.Items, node.Items.XEmbeddedResource, elem, perCallLimit, envSet)
	}
	for name, vprop := range validation.Properties {
		nprop, ok := node.Properties[name]
		if !ok {
			continue
		}
		var fieldType *apiservercel.DeclType
		if escaped, ok := apiservercel.Escape(name); ok {
			if declType == nil {
				continue
			}
			f, ok := declType.Fields[escaped]
			if !ok {
				continue
			}
			fieldType = f.Type
		} else if fieldType = model.SchemaDeclType(&nprop, nprop.XEmbeddedResource); fieldType == nil {
			continue
		}
		if p := newCELNode(&vprop, &nprop, nprop.XEmbeddedResource, fieldType, perCallLimit, envSet); p != nil {
			if n.properties == nil {
				n.properties = map[string]*celNode{}
			}
			n.properties[name] = p
		}
	}
	if va, na := validation.AdditionalProperties, node.AdditionalProperties; va != nil && va.Structural != nil && na != nil && na.Structural != nil {
		n.additional = newCELNode(va.Structural, na.Structural, na.Structural.XEmbeddedResource, elem, perCallLimit, envSet)
	}
	if validation.ValueValidation != nil {
		for i := range validation.ValueValidation.AllOf {
			if a := newCELNode(nestedStructural(&validation.ValueValidation.AllOf[i]), node, resourceRoot, declType, perCallLimit, envSet); a != nil {
				n.allOf = append(n.allOf, a)
			}
		}
	}
	if len(compiled) == 0 && err == nil && n.items == nil && n.additional == nil && len(n.properties) == 0 && len(n.allOf) == 0 {
		return nil
	}
	typed := node
	if resourceRoot {
		typed = model.WithTypeAndObjectMeta(node)
	}
	n.sts = newCELSchema(typed)
	return n
}

// Validate runs the rules on obj, a new object, within costBudget.
func (c *celCreate) Validate(ctx context.Context, obj interface{}, costBudget int64) field.ErrorList {
	errs, _ := c.root.validate(ctx, nil, obj, costBudget)
	return errs
}

func (n *celNode) validate(ctx context.Context, path *field.Path, obj interface{}, budget int64) (field.ErrorList, int64) {
	if n == nil || obj == nil {
		return nil, budget
	}
	errs, budget := n.validateRules(ctx, path, obj, budget)
	if budget < 0 {
		return errs, budget
	}
	for _, a := range n.allOf {
		var aerrs field.ErrorList
		aerrs, budget = a.validate(ctx, path, obj, budget)
		errs = append(errs, aerrs...)
		if budget < 0 {
			return errs, budget
		}
	}
	var more field.ErrorList
	switch obj := obj.(type) {
	case []interface{}:
		more, budget = n.validateArray(ctx, path, obj, budget)
	case map[string]interface{}:
		more, budget = n.validateMap(ctx, path, obj, budget)
	}
	return append(errs, more...), budget
}

func (n *celNode) validateMap(ctx context.Context, path *field.Path, obj map[string]interface{}, budget int64) (errs field.ErrorList, _ int64) {
	if budget < 0 {
		return nil, budget
	}
	if n.additional != nil {
		for k, v := range obj {
			var e field.ErrorList
			e, budget = n.additional.validate(ctx, path.Key(k), v, budget)
			errs = append(errs, e...)
			if budget < 0 {
				return errs, budget
			}
		}
	}
	if n.properties != nil {
		for k, v := range obj {
			sub, ok := n.properties[k]
			if !ok {
				continue
			}
			var e field.ErrorList
			e, budget = sub.validate(ctx, path.Child(k), v, budget)
			errs = append(errs, e...)
			if budget < 0 {
				return errs, budget
			}
		}
	}
	return errs, budget
}

func (n *celNode) validateArray(ctx context.Context, path *field.Path, obj []interface{}, budget int64) (errs field.ErrorList, _ int64) {
	if budget < 0 || n.items == nil {
		return nil, budget
	}
	for i := range obj {
		var e field.ErrorList
		e, budget = n.items.validate(ctx, path.Index(i), obj[i], budget)
		errs = append(errs, e...)
		if budget < 0 {
			return errs, budget
		}
	}
	return errs, budget
}

// validateRules runs the node's own rules, with upstream's errors.
func (n *celNode) validateRules(ctx context.Context, path *field.Path, obj interface{}, budget int64) (errs field.ErrorList, _ int64) {
	typ := n.schema.Type
	if n.compileErr != nil {
		return field.ErrorList{field.Invalid(path, typ, fmt.Sprintf("rule compiler initialization error: %v", n.compileErr))}, budget
	}
	if len(n.compiled) == 0 {
		return nil, budget
	}
	if budget <= 0 {
		return field.ErrorList{field.Invalid(path, typ, "validation failed due to running out of cost budget, no further validation rules will be run")}, -1
	}
	act := &celActivation{self: common.UnstructuredToVal(obj, n.sts)}
	optional := act
	if n.usesOld {
		// oldSelf is declared, and none, for optionalOldSelf rules.
		optional = &celActivation{self: act.self, oldSelf: types.OptionalNone, hasOldSelf: true}
	}
	for i, compiled := range n.compiled {
		rule := n.rules[i]
		if compiled.Error != nil {
			errs = append(errs, field.Invalid(path, typ, fmt.Sprintf("rule compile error: %v", compiled.Error)))
			continue
		}
		if compiled.Program == nil {
			continue
		}
		optionalOld := rule.OptionalOldSelf != nil && *rule.OptionalOldSelf
		// Transition rules need an old object, unless it is optional.
		if compiled.UsesOldSelf && !optionalOld {
			continue
		}
		a := act
		if optionalOld {
			a = optional
		}
		result, details, err := compiled.Program.ContextEval(ctx, a)
		if details == nil {
			return append(errs, field.InternalError(path, fmt.Errorf("runtime cost could not be calculated for validation rule: %v, no further validation rules will be run", ruleErrorString(rule)))), -1
		}
		cost := details.ActualCost()
		if cost == nil {
			return append(errs, field.Invalid(path, typ, fmt.Sprintf("runtime cost could not be calculated for validation rule: %v, no further validation rules will be run", ruleErrorString(rule)))), -1
		}
		if *cost > math.MaxInt64 || int64(*cost) > budget {
			return append(errs, field.Invalid(path, typ, "validation failed due to running out of cost budget, no further validation rules will be run")), -1
		}
		budget -= int64(*cost)
		if err != nil {
			switch {
			case strings.HasPrefix(err.Error(), "no such overload"):
				errs = append(errs, field.Invalid(path, typ, fmt.Sprintf("'%v': call arguments did not match a supported operator, function or macro signature for rule: %v", err, ruleErrorString(rule))))
			case strings.HasPrefix(err.Error(), "operation cancelled: actual cost limit exceeded"):
				return append(errs, field.Invalid(path, typ, fmt.Sprintf("'%v': no further validation rules will be run due to call cost exceeds limit for rule: %v", err, ruleErrorString(rule)))), -1
			default:
				errs = append(errs, field.Invalid(path, typ, fmt.Sprintf("%v evaluating rule: %v", err, ruleErrorString(rule))))
			}
			continue
		}
		if result == types.True {
			continue
		}
		at := path
		if compiled.NormalizedRuleFieldPath != "" {
			at = at.Child(compiled.NormalizedRuleFieldPath)
		}
		detail, ok := "", false
		if compiled.MessageExpression != nil {
			msg, left, msgErr := messageOf(ctx, compiled.MessageExpression, rule.MessageExpression, act, budget)
			switch {
			case msgErr == nil:
				detail, ok, budget = msg, true, left
			case msgErr.Type == apiservercel.ErrorTypeInternal:
				return append(errs, field.InternalError(at, msgErr)), -1
			case msgErr.Type == apiservercel.ErrorTypeInvalid:
				return append(errs, field.Invalid(at, typ, msgErr.Error())), -1
			default:
				budget = left
			}
		}
		if !ok {
			detail = ruleMessageOrDefault(rule)
		}
		value := obj
		if typ == "object" || typ == "array" {
			value = field.OmitValueType{}
		}
		errs = append(errs, errorForReason(at, value, detail, rule.Reason))
	}
	return errs, budget
}

// messageOf evaluates a rule's messageExpression, with upstream's
// errors; it returns the budget left.
func messageOf(ctx context.Context, expr celgo.Program, src string, act interpreter.Activation, budget int64) (string, int64, *apiservercel.Error) {
	result, details, err := expr.ContextEval(ctx, act)
	if details == nil || details.ActualCost() == nil {
		return "", -1, &apiservercel.Error{Type: apiservercel.ErrorTypeInternal, Detail: fmt.Sprintf("runtime cost could not be calculated for messageExpression: %q", src)}
	}
	cost := *details.ActualCost()
	if cost > math.MaxInt64 || int64(cost) > budget {
		return "", -1, &apiservercel.Error{Type: apiservercel.ErrorTypeInvalid, Detail: "messageExpression evaluation failed due to running out of cost budget, no further validation rules will be run"}
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), "operation cancelled: actual cost limit exceeded") {
			return "", -1, &apiservercel.Error{Type: apiservercel.ErrorTypeInvalid, Detail: fmt.Sprintf("no further validation rules will be run due to call cost exceeds limit for messageExpression: %q", src)}
		}
		return "", budget - int64(cost), &apiservercel.Error{Detail: fmt.Sprintf("messageExpression evaluation failed due to: %v", err.Error())}
	}
	left := budget - int64(cost)
	msg, ok := result.Value().(string)
	if !ok {
		return "", left, &apiservercel.Error{Detail: "messageExpression failed to convert to string"}
	}
	msg = strings.TrimSpace(msg)
	switch {
	case len(msg) > celconfig.MaxEvaluatedMessageExpressionSizeBytes:
		return "", left, &apiservercel.Error{Detail: fmt.Sprintf("messageExpression beyond allowable length of %d", celconfig.MaxEvaluatedMessageExpressionSizeBytes)}
	case newlines.MatchString(msg):
		return "", left, &apiservercel.Error{Detail: "messageExpression should not contain line breaks"}
	case msg == "":
		return "", left, &apiservercel.Error{Detail: "messageExpression should evaluate to a non-empty string"}
	}
	return msg, left, nil
}

var newlines = regexp.MustCompile(`[\n]+`)

func errorForReason(path *field.Path, value interface{}, detail string, reason *apiextensions.FieldValueErrorReason) *field.Error {
	if reason == nil {
		return field.Invalid(path, value, detail)
	}
	switch *reason {
	case apiextensions.FieldValueForbidden:
		return field.Forbidden(path, detail)
	case apiextensions.FieldValueRequired:
		return field.Required(path, detail)
	case apiextensions.FieldValueDuplicate:
		return field.Duplicate(path, value)
	default:
		return field.Invalid(path, value, detail)
	}
}

func ruleMessageOrDefault(rule apiextensions.ValidationRule) string {
	if rule.Message == "" {
		return fmt.Sprintf("failed rule: %s", ruleErrorString(rule))
	}
	return strings.TrimSpace(rule.Message)
}

func ruleErrorString(rule apiextensions.ValidationRule) string {
	if rule.Message != "" {
		return strings.TrimSpace(rule.Message)
	}
	return strings.TrimSpace(rule.Rule)
}

// celActivation resolves self and oldSelf, as upstream's.
type celActivation struct {
	self, oldSelf ref.Val
	hasOldSelf    bool
}

func (a *celActivation) ResolveName(name string) (interface{}, bool) {
	switch name {
	case cel.ScopedVarName:
		return a.self, true
	case cel.OldScopedVarName:
		return a.oldSelf, a.hasOldSelf
	}
	return nil, false
}

func (a *celActivation) Parent() interpreter.Activation { return nil }

// nestedStructural is an allOf entry as a structural schema, as upstream
// reads it for rules.
func nestedStructural(nested *structuralschema.NestedValueValidation) *structuralschema.Structural {
	if nested == nil {
		return nil
	}
	s := &structuralschema.Structural{
		ValueValidation:      &nested.ValueValidation,
		ValidationExtensions: nested.ValidationExtensions,
		Generic:              nested.ForbiddenGenerics,
		Extensions:           nested.ForbiddenExtensions,
		Items:                nestedStructural(nested.Items),
	}
	if len(nested.Properties) > 0 {
		s.Properties = make(map[string]structuralschema.Structural, len(nested.Properties))
		for k := range nested.Properties {
			p := nested.Properties[k]
			s.Properties[k] = *nestedStructural(&p)
		}
	}
	if nested.AdditionalProperties != nil {
		s.AdditionalProperties = &structuralschema.StructuralOrBool{Structural: nestedStructural(nested.AdditionalProperties)}
	}
	return s
}

// hasRules reports whether s or a node below it (not through allOf, as
// upstream) has x-kubernetes-validations.
func hasRules(s *structuralschema.Structural) bool {
	if s == nil {
		return false
	}
	if len(s.XValidations) > 0 || hasRules(s.Items) {
		return true
	}
	if s.AdditionalProperties != nil && hasRules(s.AdditionalProperties.Structural) {
		return true
	}
	for name := range s.Properties {
		p := s.Properties[name]
		if hasRules(&p) {
			return true
		}
	}
	return false
}
