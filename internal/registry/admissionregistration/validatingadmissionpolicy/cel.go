package validatingadmissionpolicy

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation/field"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// Checker compiles a policy's CEL expressions to validate them, with the
// environment upstream's API server uses for new expressions (and the
// stored-expressions one for those an update keeps). Building the
// environment takes a while, so it is built once, on first use.
type Checker struct {
	once sync.Once
	env  *environment.EnvSet
}

func (c *Checker) envSet() *environment.EnvSet {
	c.once.Do(func() {
		c.env = environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	})
	return c.env
}

// compiler returns a fresh compiler: variables are stored in it as they
// compile, so that later expressions can use them.
func (c *Checker) compiler() (*plugincel.CompositedCompiler, error) {
	return plugincel.NewCompositedCompiler(c.envSet())
}

// envType is the environment for expr: stored expressions (those an
// update keeps from the old object) may use what a newer server added.
func envType(expr string, stored map[string]bool) environment.Type {
	if stored[expr] {
		return environment.StoredExpressions
	}
	return environment.NewExpressions
}

func (c *Checker) checkCondition(comp plugincel.Compiler, acc plugincel.ExpressionAccessor, vars plugincel.OptionalVariableDeclarations, stored map[string]bool, path *field.Path) field.ErrorList {
	res := comp.CompileCELExpression(acc, vars, envType(acc.GetExpression(), stored))
	if res.Error != nil {
		return field.ErrorList{celFieldError(path, acc.GetExpression(), res.Error)}
	}
	return nil
}

// checkMatchCondition compiles a matchCondition without variables (they
// are not visible to match conditions).
func (c *Checker) checkMatchCondition(expr string, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	comp := plugincel.NewCompiler(c.envSet())
	return c.checkCondition(comp, &matchconditions.MatchCondition{Expression: expr}, plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, stored, path)
}

func (c *Checker) checkVariable(comp *plugincel.CompositedCompiler, name, expr string, hasParams bool, stored map[string]bool, path *field.Path) field.ErrorList {
	v := &validating.Variable{Name: name, Expression: expr}
	res := comp.CompileAndStoreVariable(v, plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, envType(expr, stored))
	if res.Error != nil {
		return field.ErrorList{celFieldError(path, expr, res.Error)}
	}
	return nil
}

// celFieldError turns a compile error into the field error upstream
// reports: Invalid with the compiler's message, mostly.
func celFieldError(path *field.Path, expr string, err error) *field.Error {
	if e, ok := err.(*apiservercel.Error); ok {
		switch e.Type {
		case apiservercel.ErrorTypeRequired:
			return field.Required(path, e.Detail)
		case apiservercel.ErrorTypeInvalid:
			return field.Invalid(path, expr, e.Detail)
		case apiservercel.ErrorTypeInternal:
			return field.InternalError(path, e)
		}
	}
	return field.InternalError(path, fmt.Errorf("unsupported error type: %w", err))
}
