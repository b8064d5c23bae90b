package customresourcedefinition

import (
	"os"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// validCRD is a CRD using most schema features (status and scale
// subresources, CEL rules, int-or-string, embedded resources, list types),
// defaulted and prepared as the server does before validation.
func validCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile("testdata/validation-crontab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		t.Fatal(err)
	}
	// Upstream's v1 defaulting, which also records the storage version in
	// status.storedVersions as the server's create does.
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd)
	return crd
}

// schemaOf parses a YAML openAPIV3Schema.
func schemaOf(t *testing.T, s string) *apiextensionsv1.CustomResourceValidation {
	t.Helper()
	v := &apiextensionsv1.CustomResourceValidation{}
	if err := yaml.UnmarshalStrict([]byte("openAPIV3Schema:\n"+s), v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// checkErrs asserts that errs holds exactly the wanted errors, in any
// order. A wanted error is a pattern of the error's text: "*" stands for
// any text (values can be long), and the text may go on after the pattern.
func checkErrs(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	got := errStrings(errs)
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && matches(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing error %q", w)
		}
	}
	for i, g := range got {
		if !used[i] {
			t.Errorf("unexpected error %q", g)
		}
	}
}

// matches reports whether got matches pattern: its parts between "*" appear
// in order, the first at the start.
func matches(got, pattern string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(got, parts[0]) {
		return false
	}
	rest := got[len(parts[0]):]
	for _, p := range parts[1:] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return true
}

func TestValidateCreate(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition)
		want   []string
	}{
		{"valid", func(*testing.T, *apiextensionsv1.CustomResourceDefinition) {}, nil},
		{"name is not plural.group", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Name = "crontab.stable.example.com"
		}, []string{`metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group`}},
		{"group without a dot", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Group, crd.Name = "example", "crontabs.example"
		}, []string{`spec.group: Invalid value: "example": should be a domain with at least one dot`}},
		{"names", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Names.Plural, crd.Name = "CronTabs", "CronTabs.stable.example.com"
			crd.Spec.Names.Singular = ""
			crd.Spec.Names.ListKind = "CronTab"
			crd.Spec.Names.ShortNames = []string{"c t"}
		}, []string{
			`spec.names.plural: Invalid value: "CronTabs": a DNS-1035 label must consist of lower case alphanumeric characters`,
			`spec.names.singular: Required value`,
			`spec.names.listKind: Invalid value: "CronTab": kind and listKind may not be the same`,
			`spec.names.shortNames[0]: Invalid value: "c t": a DNS-1035 label must consist of lower case alphanumeric characters`,
		}},
		{"missing kind", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Names.Kind = ""
		}, []string{`spec.names.kind: Required value`}},
		{"two storage versions", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Storage = true
		}, []string{`spec.versions: Invalid value: *: must have exactly one version marked as storage version`, `status.storedVersions: Invalid value: ["v1"]: must have the storage version v1beta1`}},
		{"no storage version", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[0].Storage = false
			crd.Status.StoredVersions = nil
		}, []string{`spec.versions: Invalid value: *: must have exactly one version marked as storage version`, `status.storedVersions: Invalid value: null: must have at least one stored version`}},
		{"duplicate version", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Name = "v1"
		}, []string{`spec.versions: Invalid value: *: must contain unique version names`}},
		{"bad version name", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Name = "V1_beta"
		}, []string{`spec.versions[1].name: Invalid value: "V1_beta": a DNS-1035 label must consist of`}},
		{"bad scope", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Scope = "Global"
		}, []string{`spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"`}},
		{"no schema", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = nil
		}, []string{`spec.versions[1].schema.openAPIV3Schema: Required value`}},
		{"property without type", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    spec:
      type: object
      properties:
        a: {}
        b:
          properties:
            c: {type: string}`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].properties[a].type: Required value: must not be empty for specified object fields`,
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].properties[b].type: Required value: must not be empty for specified object fields`,
		}},
		{"root not object", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: string`)
		}, []string{`spec.versions[1].schema.openAPIV3Schema.type: Invalid value: "string": must be object at the root`}},
		{"status subresource with other root fields", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Subresources = &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}}
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  minProperties: 1
  properties:
    spec: {type: object}`)
		}, []string{`spec.versions[1].schema.openAPIV3Schema: Invalid value: *: only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled`}},
		{"int-or-string with type and preserve-unknown", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    port:
      type: string
      x-kubernetes-int-or-string: true
    other:
      x-kubernetes-int-or-string: true
      x-kubernetes-preserve-unknown-fields: true`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[other].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true`,
		}},
		{"embedded resource without properties", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    template:
      type: object
      x-kubernetes-embedded-resource: true
    list:
      type: array
      items:
        type: string
        x-kubernetes-embedded-resource: true`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[template].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields`,
			`spec.versions[1].schema.openAPIV3Schema.properties[list].items.type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true`,
			`spec.versions[1].schema.openAPIV3Schema.properties[list].items.properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields`,
		}},
		{"metadata restricted beyond name", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    metadata:
      type: object
      properties:
        labels: {type: object}`)
		}, []string{`spec.versions[1].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`}},
		{"list types", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    a:
      type: array
      x-kubernetes-list-type: map
      items: {type: string}
    b:
      type: array
      x-kubernetes-list-type: bag
      items: {type: string}
    c:
      type: object
      x-kubernetes-list-type: set`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[a].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map`,
			`spec.versions[1].schema.openAPIV3Schema.properties[a].items.type: Invalid value: "string": must be object if parent array's x-kubernetes-list-type is map`,
			`spec.versions[1].schema.openAPIV3Schema.properties[b].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "set", "map"`,
			`spec.versions[1].schema.openAPIV3Schema.properties[c].type: Invalid value: "object": must be array if x-kubernetes-list-type is specified`,
		}},
		{"CEL rule that does not compile", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    spec:
      type: object
      properties:
        replicas: {type: integer}
      x-kubernetes-validations:
      - rule: "self.replicas > 'x'"
      - rule: "self.nosuch == 1"`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: *: compilation failed: ERROR: <input>:1:15: found no matching overload for '_>_' applied to '(int, string)'`,
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[1].rule: Invalid value: *: compilation failed: ERROR: <input>:1:5: undefined field 'nosuch'`,
		}},
		{"CEL rule over the cost budget", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    spec:
      type: object
      properties:
        list:
          type: array
          items:
            type: array
            items: {type: string}
      x-kubernetes-validations:
      - rule: "self.list.all(x, x.all(y, self.list.exists(z, z.exists(w, w.startsWith(y)))))"`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of`,
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema`,
			`spec.versions[1].schema.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of`,
		}},
		{"transition rule on a list of scalars", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    tags:
      type: array
      maxItems: 10
      items:
        type: string
        maxLength: 10
        x-kubernetes-validations:
        - rule: "self == oldSelf"`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[tags].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema`,
		}},
		{"default that fails its schema", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    replicas:
      type: integer
      maximum: 5
      default: 7
    spec:
      type: object
      default: {unknown: 1}
      properties:
        a: {type: string}`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[replicas].default: Invalid value: 7:  in body should be less than or equal to 5`,
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].default: Invalid value: {"unknown":1}: must not have unknown fields`,
		}},
		{"schema keywords upstream refuses", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  nullable: true
  additionalProperties: {type: string}
  properties:
    a:
      type: array
      uniqueItems: true
      items: {type: string}
    b:
      type: object
      x-kubernetes-preserve-unknown-fields: false
    c:
      $ref: "#/definitions/x"`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.nullable: Forbidden: nullable cannot be true at the root`,
			`spec.versions[1].schema.openAPIV3Schema.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
			`spec.versions[1].schema.openAPIV3Schema.properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
			`spec.versions[1].schema.openAPIV3Schema.properties[b].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`,
			`spec.versions[1].schema.openAPIV3Schema.properties[c].$ref: Forbidden: $ref is not supported`,
		}},
		{"CEL rule fields", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    spec:
      type: object
      properties:
        a: {type: string}
      x-kubernetes-validations:
      - rule: "self.a == 'x'"
        messageExpression: "'ok'"
      - rule: "self.a == 'x'"
        reason: FieldValueGone
      - rule: "self.a == 'x'"
        fieldPath: ".nosuch"
      - rule: ""
      - rule: "self.a == 'x'"
        message: "two\nlines"`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[1].reason: Unsupported value: "FieldValueGone": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"`,
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[2].fieldPath: Invalid value: ".nosuch": must be a valid path`,
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[3].rule: Required value: rule is not specified`,
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[4].message: Invalid value: "two\nlines": must not contain line breaks`,
		}},
		{"CEL messageExpression that does not compile", func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    spec:
      type: object
      properties:
        a: {type: string}
      x-kubernetes-validations:
      - rule: "self.a == 'x'"
        messageExpression: "self.a +"`)
		}, []string{
			`spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].messageExpression: Invalid value: *: messageExpression compilation failed: ERROR: <input>:1:9: Syntax error`,
		}},
		{"selectable fields", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[0].SelectableFields = []apiextensionsv1.SelectableField{{JSONPath: ".spec.cronSpec"}, {JSONPath: ".metadata.name"}, {JSONPath: ".spec.template"}, {JSONPath: ".spec.cronSpec"}}
		}, []string{
			`spec.versions[0].selectableFields[1].jsonPath: Invalid value: ".metadata.name": is an invalid path: does not refer to a valid field`,
			`spec.versions[0].selectableFields[2].jsonPath: Invalid value: ".spec.template": must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.`,
			`spec.versions[0].selectableFields[3].jsonPath: Duplicate value: ".spec.cronSpec"`,
		}},
		{"conversion webhook without client config", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter}
		}, []string{
			// Upstream reports conversion errors on its internal type's paths.
			`spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook`,
			`spec.conversion.conversionReviewVersions: Required value`,
		}},
		{"conversion strategy unknown", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: "Magic"}
		}, []string{`spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", "Webhook"`}},
		{"conversion webhook with bad review versions", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			url := "https://hook.example.com/convert"
			crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.WebhookConverter, Webhook: &apiextensionsv1.WebhookConversion{
				ClientConfig:             &apiextensionsv1.WebhookClientConfig{URL: &url},
				ConversionReviewVersions: []string{"v9"},
			}}
		}, []string{`spec.conversion.conversionReviewVersions: Invalid value: ["v9"]: must include at least one of v1, v1beta1`}},
		{"scale paths", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[0].Subresources.Scale.SpecReplicasPath = ".metadata.replicas"
		}, []string{`spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".metadata.replicas": should be a json path under .spec`}},
		{"printer column type", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[0].AdditionalPrinterColumns = []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Spec", Type: "str", JSONPath: ".spec.cronSpec"}}
		}, []string{`spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "str": must be one of boolean,date,integer,number,string`}},
		{"protected group without approval", func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Group, crd.Name = "stable.k8s.io", "crontabs.stable.k8s.io"
		}, []string{`metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crd := validCRD(t)
			tt.change(t, crd)
			checkErrs(t, ValidateCreate(crd), tt.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	established := func(crd *apiextensionsv1.CustomResourceDefinition) {
		crd.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}
	}
	tests := []struct {
		name   string
		old    func(crd *apiextensionsv1.CustomResourceDefinition)
		change func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition)
		want   []string
	}{
		{"unchanged", nil, func(*testing.T, *apiextensionsv1.CustomResourceDefinition) {}, nil},
		{"scope may change before Established", nil, func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Scope = apiextensionsv1.ClusterScoped
		}, nil},
		{"scope is immutable once Established", established, func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Scope = apiextensionsv1.ClusterScoped
		}, []string{`spec.scope: Invalid value: "Cluster": field is immutable`}},
		{"group is immutable", nil, func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Group = "other.example.com"
		}, []string{`spec.group: Invalid value: "other.example.com": field is immutable`}},
		{"plural is immutable", nil, func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Names.Plural = "crontabz"
		}, []string{`spec.names.plural: Invalid value: "crontabz": field is immutable`}},
		{"names may change before Established", nil, func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Names.Kind, crd.Spec.Names.ListKind = "CronJobby", "CronJobbyList"
		}, nil},
		{"names are immutable once Established", established, func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Names.Kind, crd.Spec.Names.ListKind = "CronJobby", "CronJobbyList"
		}, []string{`spec.names.kind: Invalid value: "CronJobby": field is immutable`}},
		{"a stored version must stay in spec.versions", func(crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Status.StoredVersions = []string{"v1beta1", "v1"}
		}, func(_ *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions = crd.Spec.Versions[:1]
			crd.Status.StoredVersions = []string{"v1beta1", "v1"}
		}, []string{
			`status.storedVersions[0]: Invalid value: "v1beta1": missing from spec.versions; v1beta1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1beta1 and removes v1beta1 from status.storedVersions`,
		}},
		{"a new CEL rule must compile", nil, func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  x-kubernetes-validations:
  - rule: "self.spec.replicas >"
  properties:
    spec:
      type: object
      properties:
        replicas: {type: integer}`)
		}, []string{`spec.versions[1].schema.openAPIV3Schema.x-kubernetes-validations[0].rule: Invalid value: *: compilation failed: ERROR: <input>:1:21: Syntax error: mismatched input '<EOF>'`}},
		{"a new schema must be structural", nil, func(t *testing.T, crd *apiextensionsv1.CustomResourceDefinition) {
			crd.Spec.Versions[1].Schema = schemaOf(t, `
  type: object
  properties:
    spec:
      properties:
        a: {type: string}`)
		}, []string{`spec.versions[1].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validCRD(t)
			if tt.old != nil {
				tt.old(old)
			}
			crd := old.DeepCopy()
			tt.change(t, crd)
			// The server keeps status on spec updates (names are accepted
			// by the naming controller): mirror what it would accept.
			crd.Status.AcceptedNames = crd.Spec.Names
			old.Status.AcceptedNames = old.Spec.Names
			checkErrs(t, ValidateUpdate(crd, old), tt.want)
		})
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	old := validCRD(t)
	crd := old.DeepCopy()
	crd.Status.AcceptedNames.Plural = "Bad Plural"
	crd.Status.StoredVersions = nil
	checkErrs(t, ValidateStatusUpdate(crd, old), []string{
		`status.acceptedNames.plural: Invalid value: "Bad Plural": a DNS-1035 label must consist of`,
	})
	if errs := ValidateStatusUpdate(old.DeepCopy(), old); len(errs) > 0 {
		t.Errorf("unchanged status: %v", errs)
	}
}

func TestWarnings(t *testing.T) {
	withSchema := func(s string) *apiextensionsv1.CustomResourceDefinition {
		crd := validCRD(t)
		crd.Spec.Versions[1].Schema = schemaOf(t, s)
		return crd
	}
	plain := withSchema(`
  type: object
  properties:
    a: {type: string, format: date-time}`)
	odd := withSchema(`
  type: object
  properties:
    a: {type: string, format: not-a-format}
    b: {type: integer, format: int128}
    c:
      type: array
      x-kubernetes-list-type: set
      items: {type: object}`)
	tests := []struct {
		name     string
		crd, old *apiextensionsv1.CustomResourceDefinition
		want     []string
	}{
		{"known formats", plain, nil, nil},
		{"create", odd, nil, []string{
			`unrecognized format "int128"`,
			`unrecognized format "not-a-format"`,
			`x-kubernetes-list-type: set for items of type "object" is not supported by server-side apply or CEL validation rules`,
		}},
		{"update warns about what it adds only", odd, odd, nil},
		{"update adding them", odd, plain, []string{
			`unrecognized format "int128"`,
			`unrecognized format "not-a-format"`,
			`x-kubernetes-list-type: set for items of type "object" is not supported by server-side apply or CEL validation rules`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Warnings(tt.crd, tt.old)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("warnings\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}
