package webhookconfig

import (
	"errors"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// conditionCompiler compiles match conditions with the variables upstream
// gives them (object, oldObject, request, authorizer; no params).
type conditionCompiler struct {
	once     sync.Once
	compiler plugincel.Compiler
}

func newConditionCompiler() *conditionCompiler { return &conditionCompiler{} }

func (c *conditionCompiler) get() plugincel.Compiler {
	c.once.Do(func() {
		c.compiler = plugincel.NewCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	})
	return c.compiler
}

// check compiles expr; stored is true for an expression already stored,
// which the (more lenient) stored expressions' environment compiles.
func (c *conditionCompiler) check(p *field.Path, expr string, stored bool) *field.Error {
	env := environment.NewExpressions
	if stored {
		env = environment.StoredExpressions
	}
	acc := &matchconditions.MatchCondition{Expression: expr}
	res := c.get().CompileCELExpression(acc, plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, env)
	if res.Error == nil {
		return nil
	}
	var celErr *apiservercel.Error
	if errors.As(res.Error, &celErr) {
		switch celErr.Type {
		case apiservercel.ErrorTypeRequired:
			return field.Required(p, celErr.Detail)
		case apiservercel.ErrorTypeInvalid:
			return field.Invalid(p, expr, celErr.Detail)
		}
	}
	return field.InternalError(p, fmt.Errorf("compile match condition: %w", res.Error))
}
