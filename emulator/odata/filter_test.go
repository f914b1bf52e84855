package odata

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// glFields is a G/L entry (bc-entra-facts §10.2) plus a few fields of the other types.
func glFields() map[string]string {
	return map[string]string{
		"id":                             "Edm.Guid",
		"entryNumber":                    "Edm.Int32",
		"postingDate":                    "Edm.Date",
		"documentNumber":                 "Edm.String",
		"documentType":                   "Edm.String",
		"accountId":                      "Edm.Guid",
		"accountNumber":                  "Edm.String",
		"description":                    "Edm.String",
		"debitAmount":                    "Edm.Decimal",
		"creditAmount":                   "Edm.Decimal",
		"additionalCurrencyDebitAmount":  "Edm.Decimal",
		"additionalCurrencyCreditAmount": "Edm.Decimal",
		"lastModifiedDateTime":           "Edm.DateTimeOffset",
		"blocked":                        "Edm.Boolean",
		"bigNumber":                      "Edm.Int64",
		"picture":                        "Edm.Stream",
	}
}

func glRow() map[string]any {
	return map[string]any{
		"id":                             "5d115c9c-44e3-ea11-bb43-000d3a2feca1",
		"entryNumber":                    int64(1234),
		"postingDate":                    "2024-03-15",
		"documentNumber":                 "G00123",
		"documentType":                   "Credit_x0020_Memo",
		"accountId":                      blankGUID,
		"accountNumber":                  "10100",
		"description":                    "O'Brien consulting",
		"debitAmount":                    1500.25,
		"creditAmount":                   0.0,
		"additionalCurrencyDebitAmount":  0.0,
		"additionalCurrencyCreditAmount": 0.0,
		"lastModifiedDateTime":           time.Date(2024, 5, 1, 12, 30, 0, 123e6, time.UTC),
		"blocked":                        false,
		"bigNumber":                      int64(1 << 40),
	}
}

func glEnums(field string) []string {
	if field == "documentType" {
		return []string{"_x0020_", "Payment", "Invoice", "Credit_x0020_Memo", "Finance_x0020_Charge_x0020_Memo", "Reminder", "Refund", "Dishonored"}
	}
	return nil
}

// setup returns the G/L entry field lookup and default options.
func setup(t testing.TB) (FieldLookup, Options) {
	t.Helper()
	m := glFields()
	return func(n string) (string, bool) { v, ok := m[n]; return v, ok },
		Options{EntityType: "Microsoft.NAV.generalLedgerEntry"}
}

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	fields, base := setup(t)
	v21 := func(o *Options) { o.SchemaVersion = "2.1" }
	ci := func(o *Options) { o.CaseInsensitive = true }
	enums := func(o *Options) { o.Enums = glEnums }
	alNames := func(o *Options) { o.Enums = glEnums; o.EnumALNames = true }
	wholeLambda := func(o *Options) { o.IgnoreFilterOnLambda = true }
	tests := []struct {
		filter string
		opt    func(*Options)
		want   bool
	}{
		// Comparison operators on Int32, literal on either side.
		{"entryNumber eq 1234", nil, true},
		{"entryNumber ne 1234", nil, false},
		{"entryNumber gt 1233", nil, true},
		{"entryNumber gt 1234", nil, false},
		{"entryNumber ge 1234", nil, true},
		{"entryNumber lt 1234", nil, false},
		{"entryNumber le 1234", nil, true},
		{"1233 lt entryNumber", nil, true},
		{"1234 ge entryNumber", nil, true},
		{"entryNumber eq 1234L", nil, true},
		{"  entryNumber   eq\t1234  ", nil, true},
		// Decimal literals against an integer field.
		{"entryNumber gt 1233.5", nil, true},
		{"entryNumber eq 1234.0", nil, true},
		{"entryNumber eq 1234.5", nil, false},
		{"entryNumber ne 1234.5", nil, true},
		{"entryNumber lt 1234.5", nil, true},
		{"entryNumber le 1233.9", nil, false},
		{"entryNumber gt 99999999999999999999", nil, false},
		{"entryNumber lt 99999999999999999999", nil, true},
		{"entryNumber gt -99999999999999999999", nil, true},
		{"bigNumber eq 1099511627776", nil, true},
		{"bigNumber gt 2147483648", nil, true},
		// Decimal fields with int, decimal, double and suffixed literals.
		{"debitAmount eq 1500.25", nil, true},
		{"debitAmount gt 1500", nil, true},
		{"debitAmount ge 1.5e3", nil, true},
		{"debitAmount eq 1500.25M", nil, true},
		{"debitAmount lt -1", nil, false},
		{"creditAmount eq 0", nil, true},
		{"creditAmount gt -0.5", nil, true},
		// Strings, quotes and injection-style input that must stay a literal.
		{"documentNumber eq 'G00123'", nil, true},
		{"documentNumber eq 'g00123'", nil, false},
		{"documentNumber eq 'g00123'", ci, true},
		{"documentNumber gt 'G'", nil, true},
		{"description eq 'O''Brien consulting'", nil, true},
		{"description eq ' or 1 eq 1 or '", nil, false},
		{"description eq 'O'' or ''1'' eq ''1'", nil, false},
		{"startswith(description,'O''B')", nil, true},
		{"documentNumber eq ''", nil, false},
		// GUIDs unquoted, any case; the blank GUID and null.
		{"id eq 5d115c9c-44e3-ea11-bb43-000d3a2feca1", nil, true},
		{"id eq 5D115C9C-44E3-EA11-BB43-000D3A2FECA1", nil, true},
		{"id ne 5d115c9c-44e3-ea11-bb43-000d3a2feca2", nil, true},
		{"accountId eq 00000000-0000-0000-0000-000000000000", nil, true},
		{"accountId eq null", nil, true},
		{"id eq null", nil, false},
		{"id ne null", nil, true},
		{"description ne null", nil, true},
		{"creditAmount eq null", nil, true},
		// Dates and date-times with Z, offsets, fractions and no seconds.
		{"postingDate eq 2024-03-15", nil, true},
		{"postingDate gt 2024-03-14", nil, true},
		{"postingDate lt 2024-01-01", nil, false},
		{"postingDate ge 2024-03-15 and postingDate le 2024-03-31", nil, true},
		{"lastModifiedDateTime gt 2024-05-01T12:30:00Z", nil, true},
		{"lastModifiedDateTime eq 2024-05-01T12:30:00.123Z", nil, true},
		{"lastModifiedDateTime eq 2024-05-01T14:30:00.123+02:00", nil, true},
		{"lastModifiedDateTime eq 2024-05-01T12:30:00.1230000Z", nil, true},
		{"lastModifiedDateTime lt 2024-05-01T12:30:00.1231Z", nil, true},
		{"lastModifiedDateTime gt 2024-05-01T12:30Z", nil, true},
		{"lastModifiedDateTime gt 2024-05-01T08:00:00-05:00", nil, false},
		// Booleans.
		{"blocked eq false", nil, true},
		{"blocked ne true", nil, true},
		{"blocked", nil, false},
		{"not blocked", nil, true},
		{"true", nil, true},
		{"false", nil, false},
		// String functions; tolower/toupper make the comparison case-insensitive.
		{"contains(description,'Brien')", nil, true},
		{"contains(description,'brien')", nil, false},
		{"contains(description,'brien')", ci, true},
		{"endswith(description,'ing')", nil, true},
		{"startswith(documentNumber,'G0')", nil, true},
		{"startswith(documentNumber,'X')", nil, false},
		{"contains(description,'Brien') eq true", nil, true},
		{"contains(description,'Brien') eq false", nil, false},
		{"contains(description,'Brien') ne true", nil, false},
		{"true eq contains(description,'Brien')", nil, true},
		{"not contains(description,'x')", nil, true},
		{"contains(description,null)", nil, true},
		{"tolower(documentNumber) eq 'g00123'", nil, true},
		{"toupper(documentNumber) eq 'g00123'", nil, true},
		{"tolower(description) eq 'O''BRIEN CONSULTING'", nil, true},
		{"substring(documentNumber,1) eq '00123'", nil, true},
		{"substring(documentNumber,1,2) eq '00'", nil, true},
		{"substring(documentNumber,10) eq ''", nil, true},
		// Enums in wire form; AL names only when enabled.
		{"documentType eq 'Credit_x0020_Memo'", nil, true},
		{"documentType eq 'Credit_x0020_Memo'", enums, true},
		{"documentType eq 'Invoice'", enums, false},
		{"documentType ne 'Invoice'", enums, true},
		{"documentType eq 'Credit Memo'", alNames, true},
		{"documentType eq Microsoft.NAV.genJournalDocumentType'Credit_x0020_Memo'", enums, true},
		{"contains(documentType,'Memo')", enums, true},
		// Logic and precedence.
		{"entryNumber ge 100 and entryNumber lt 2000", nil, true},
		{"entryNumber eq 1 or entryNumber eq 1234", nil, true},
		{"entryNumber eq 1 or entryNumber eq 2", nil, false},
		{"(entryNumber eq 1 or entryNumber eq 2) and documentNumber eq 'G00123'", nil, false},
		{"(entryNumber eq 1 or entryNumber eq 1234) and documentNumber eq 'G00123'", nil, true},
		{"entryNumber eq 1 or (entryNumber ge 1000 and entryNumber lt 2000)", nil, true},
		{"not (entryNumber eq 1)", nil, true},
		{"not not (entryNumber eq 1234)", nil, true},
		{"not (documentNumber eq 'a' or documentNumber eq 'b') and entryNumber eq 1234", nil, true},
		{"((((entryNumber eq 1234))))", nil, true},
		// Lambdas are dropped, as BC ignores them.
		{"entryNumber eq 1234 and dimensionSetLines/any(d: d/code eq 'X')", nil, true},
		{"entryNumber eq 1 and dimensionSetLines/any(d: d/code eq 'X')", nil, false},
		{"dimensionSetLines/all(d: d/code eq 'X' and d/valueCode eq 'Y')", nil, true},
		{"dimensionSetLines/any()", nil, true},
		{"entryNumber eq 1 or dimensionSetLines/any()", nil, false},
		{"entryNumber eq 1 and dimensionSetLines/any()", wholeLambda, true},
		// $schemaversion=2.1: in and nested functions.
		{"entryNumber in (1, 1234)", v21, true},
		{"entryNumber in (1,2)", v21, false},
		{"documentNumber in ('A','G00123')", v21, true},
		{"documentNumber in ('a','g00123')", func(o *Options) { v21(o); ci(o) }, true},
		{"documentType in ('Invoice','Payment')", func(o *Options) { v21(o); enums(o) }, false},
		{"debitAmount in (1500.25)", v21, true},
		{"entryNumber in (1234.0)", v21, true},
		{"contains(tolower(description),'brien')", v21, true},
		{"startswith(substring(documentNumber,1),'00')", v21, true},
		{"tolower(substring(documentNumber,0,1)) eq 'g'", v21, true},
		{"tolower(documentNumber) in ('g00123')", v21, true},
	}
	row := glRow()
	for _, tt := range tests {
		opt := base
		if tt.opt != nil {
			tt.opt(&opt)
		}
		f, err := ParseFilter(tt.filter, fields, opt)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.filter, err)
			continue
		}
		if got := f.Match(row); got != tt.want {
			t.Errorf("ParseFilter(%q).Match = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	t.Parallel()
	fields, base := setup(t)
	v21 := func(o *Options) { o.SchemaVersion = "2.1" }
	enums := func(o *Options) { o.Enums = glEnums }
	const nf, ni = CodeNotFound, CodeNotImplemented
	tests := []struct {
		filter string
		opt    func(*Options)
		status int
		code   string
		msg    string // exact when it does not end in "…", else a prefix
	}{
		// Syntax errors, with ODataLib's messages and positions.
		{"entryNumber eq", nil, 400, nf, "Expression expected at position 14 in 'entryNumber eq'."},
		{"entryNumber eq 1 x", nil, 400, nf, "Syntax error at position 18 in 'entryNumber eq 1 x'."},
		{"(entryNumber eq 1", nil, 400, nf, "')' or operator expected at position 17 in '(entryNumber eq 1'."},
		{"description eq 'abc", nil, 400, nf, "There is an unterminated string literal at position 19 in 'description eq 'abc'."},
		{"entryNumber eq #1", nil, 400, nf, "Syntax error: character '#' is not valid at position 15 in 'entryNumber eq #1'."},
		{`documentNumber eq "G00123"`, nil, 400, nf, `Syntax error: character '"' is not valid at position 18 in 'documentNumber eq "G00123"'.`},
		{"entryNumber eq 12abc", nil, 400, nf, "Syntax error at position 15 in 'entryNumber eq 12abc'."},
		{"contains(description,'a' 'b')", nil, 400, nf, "')' or ',' expected at position 25 in 'contains(description,'a' 'b')'."},
		{"entryNumber in 1", v21, 400, nf, "'(' expected at position 15 in 'entryNumber in 1'."},
		{"entryNumber in (1 2)", v21, 400, nf, "')' or ',' expected at position 18 in 'entryNumber in (1 2)'."},
		{"and", nil, 400, nf, "Could not find a property named 'and' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"entryNumber eq 1 and", nil, 400, nf, "Expression expected at position 20 in 'entryNumber eq 1 and'."},
		{"duration'P1D' eq 1", nil, 400, nf, "Syntax error at position 8 in 'duration'P1D' eq 1'."},
		// Literals that are not valid values.
		{"postingDate eq 2024-02-30", nil, 400, nf, "Unrecognized 'Edm.Date' literal '2024-02-30' at '15' in 'postingDate eq 2024-02-30'."},
		{"lastModifiedDateTime gt 2024-01-01T00:00:00", nil, 400, nf, "The time zone information is missing on the DateTimeOffset value '2024-01-01T00:00:00'. A DateTimeOffset value must contain the time zone information."},
		{"lastModifiedDateTime gt 2024-01-01T25:00:00Z", nil, 400, nf, "The DateTimeOffset text '2024-01-01T25:00:00Z' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range."},
		// Unknown properties.
		{"foo eq 1", nil, 400, nf, "Could not find a property named 'foo' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"EntryNumber eq 1", nil, 400, nf, "Could not find a property named 'EntryNumber' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"customer/displayName eq 'x'", nil, 400, nf, "Could not find a property named 'customer' on type 'Microsoft.NAV.generalLedgerEntry'."},
		{"entryNumber/x eq 1", nil, 400, nf, "Could not find a property named 'x' on type 'Edm.Int32'."},
		{"entryNumber eq 1 and foo eq 2", nil, 400, nf, "Could not find a property named 'foo' on type 'Microsoft.NAV.generalLedgerEntry'."},
		// Type mismatches.
		{"entryNumber eq 'abc'", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Int32' and 'Edm.String' for operator kind 'Equal'."},
		{"'abc' lt entryNumber", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Int32' and 'Edm.String' for operator kind 'GreaterThan'."},
		{"id eq 2024-01-01", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.Date' for operator kind 'Equal'."},
		{"id eq '5d115c9c-44e3-ea11-bb43-000d3a2feca1'", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Guid' and 'Edm.String' for operator kind 'Equal'."},
		{"lastModifiedDateTime gt 2024-01-01", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.Date' for operator kind 'GreaterThan'."},
		{"postingDate ge 2024-01-01T00:00:00Z", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Date' and 'Edm.DateTimeOffset' for operator kind 'GreaterThanOrEqual'."},
		{"documentNumber eq 10000", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int32' for operator kind 'Equal'."},
		{"documentNumber ne 5000000000", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Int64' for operator kind 'NotEqual'."},
		{"blocked eq 1", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.Int32' for operator kind 'Equal'."},
		{"debitAmount le 'x'", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Decimal' and 'Edm.String' for operator kind 'LessThanOrEqual'."},
		{"picture eq 'x'", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Stream' and 'Edm.String' for operator kind 'Equal'."},
		{"contains(description,'a') eq 1", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.Int32' for operator kind 'Equal'."},
		{"entryNumber in ('a')", v21, 400, nf, "An instance of InNode can only be created where the item types of the right operand 'Edm.String' and the left operand 'Edm.Int32' can be compared."},
		{"entryNumber and blocked", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.Int32' and 'Edm.Boolean' for operator kind 'And'."},
		{"blocked or description", nil, 400, nf, "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'Edm.Boolean' for operator kind 'Or'."},
		{"not entryNumber eq 1", nil, 400, nf, "A unary operator with an incompatible type was detected. Found operand type 'Edm.Int32' for operator kind 'Not'."},
		{"entryNumber", nil, 400, nf, "The $filter expression must evaluate to a single boolean value."},
		{"'abc'", nil, 400, nf, "The $filter expression must evaluate to a single boolean value."},
		{"tolower(description)", nil, 400, nf, "The $filter expression must evaluate to a single boolean value."},
		{"documentType eq 'Credit Memo'", enums, 400, nf, "The string 'Credit Memo' is not a valid enumeration type constant."},
		{"documentType eq 'credit_x0020_memo'", enums, 400, nf, "The string 'credit_x0020_memo' is not a valid enumeration type constant."},
		// Functions.
		{"foo(description) eq 'a'", nil, 400, nf, "An unknown function with name 'foo' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed."},
		{"Contains(description,'a')", nil, 400, nf, "An unknown function with name 'Contains' was found. …"},
		{"contains(entryNumber,'1')", nil, 400, nf, "No function signature for the function with name 'contains' matches the specified arguments. The function signatures considered are: contains(Edm.String Nullable=true, Edm.String Nullable=true)."},
		{"contains(id,'5d')", nil, 400, nf, "No function signature for the function with name 'contains' …"},
		{"contains(description)", nil, 400, nf, "No function signature for the function with name 'contains' …"},
		{"contains(description,1)", nil, 400, nf, "No function signature for the function with name 'contains' …"},
		{"substring(description,'1') eq 'a'", nil, 400, nf, "No function signature for the function with name 'substring' …"},
		{"tolower(description,'x') eq 'a'", nil, 400, nf, "No function signature for the function with name 'tolower' …"},
		{"indexof(description,'a') eq 1", nil, 501, ni, "The function 'indexof' is not supported on an OData filter. …"},
		{"year(postingDate) eq 2024", nil, 501, ni, "The function 'year' is not supported on an OData filter. …"},
		// BC restrictions: no AL filter equivalent.
		{"entryNumber eq 1 or documentNumber eq 'x'", nil, 501, ni, MsgOrAcrossFields},
		{"entryNumber eq 1 or entryNumber eq 2 or blocked", nil, 501, ni, MsgOrAcrossFields},
		{"entryNumber eq 1 or (entryNumber eq 2 and documentNumber eq 'x')", nil, 501, ni, MsgOrAcrossFields},
		{"not (entryNumber eq 1 and documentNumber eq 'x')", nil, 501, ni, MsgOrAcrossFields},
		{"contains(description,'a') or startswith(documentNumber,'G')", v21, 501, ni, MsgOrAcrossFields},
		{"entryNumber in (1,2)", nil, 501, ni, "The 'in' operator is supported only with $schemaversion=2.1. …"},
		{"contains(tolower(description),'a')", nil, 501, ni, "Nested function calls such as 'contains(tolower(…))' in $filter are supported only with $schemaversion=2.1. Add $schemaversion=2.1 to the request URL."},
		{"tolower(toupper(description)) eq 'a'", nil, 501, ni, "Nested function calls such as 'tolower(toupper(…))' …"},
		{"entryNumber add 1 eq 2", nil, 501, ni, "The 'add' operator is not supported on an OData filter; …"},
		{"entryNumber eq 1 mul 2", nil, 501, ni, "The 'mul' operator is not supported on an OData filter; …"},
		{"documentType has Microsoft.NAV.genJournalDocumentType'Invoice'", nil, 501, ni, "The 'has' operator …"},
		{"debitAmount gt creditAmount", nil, 501, ni, "The comparison at position 12 compares property 'debitAmount' with property 'creditAmount'; …"},
		{"1 eq 1", nil, 501, ni, "The comparison at position 2 compares two literal values; …"},
		{"contains('abc',description)", nil, 501, ni, "The function 'contains' must be applied to a property; …"},
		{"contains(description,documentNumber)", nil, 501, ni, "The function 'contains' compares two properties; …"},
		{"(entryNumber eq 1) eq true", nil, 501, ni, "The comparison at position 19 has no Business Central (AL) filter equivalent; …"},
		{"contains(description,'a') gt false", nil, 501, ni, "The 'gt' operator cannot be applied to the result of a function; …"},
		{"entryNumber in (1, entryNumber)", v21, 501, ni, "The list of 'in' at position 12 must contain literal values only."},
	}
	for _, tt := range tests {
		opt := base
		if tt.opt != nil {
			tt.opt(&opt)
		}
		f, err := ParseFilter(tt.filter, fields, opt)
		checkError(t, "ParseFilter("+tt.filter+")", f, err, tt.status, tt.code, tt.msg)
	}
}

// checkError asserts err is an *Error with the status, code and message (a prefix when msg
// ends in "…").
func checkError(t *testing.T, what string, got any, err error, status int, code, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("%s = %v, %v; want *Error %d %s", what, got, err, status, code)
		return
	}
	if e.Status != status || e.Code != code {
		t.Errorf("%s: status/code = %d %s, want %d %s (%s)", what, e.Status, e.Code, status, code, e.Message)
	}
	if prefix, ok := strings.CutSuffix(msg, "…"); ok {
		if !strings.HasPrefix(e.Message, prefix) {
			t.Errorf("%s: message = %q, want prefix %q", what, e.Message, prefix)
		}
	} else if e.Message != msg {
		t.Errorf("%s: message = %q, want %q", what, e.Message, msg)
	}
}

func TestFilterLimits(t *testing.T) {
	t.Parallel()
	fields, opt := setup(t)
	deep := strings.Repeat("(", 150) + "blocked" + strings.Repeat(")", 150)
	nots := strings.Repeat("not ", 150) + "blocked"
	calls := "contains(" + strings.Repeat("tolower(", 150) + "description" + strings.Repeat(")", 150) + ",'a')"
	for _, s := range []string{deep, nots, calls} {
		f, err := ParseFilter(s, fields, Options{SchemaVersion: "2.1"})
		checkError(t, "deep", f, err, 400, CodeNotFound, "Recursion depth exceeded allowed limit.")
	}
	// Within the limit, nesting works.
	ok := strings.Repeat("(", 90) + "blocked" + strings.Repeat(")", 90)
	if _, err := ParseFilter(ok, fields, opt); err != nil {
		t.Errorf("90 parentheses: %v", err)
	}
	// A long flat chain is not nesting: 1,500 terms parse and match.
	long := "entryNumber ge 0" + strings.Repeat(" and entryNumber ge 0", 1499)
	f, err := ParseFilter(long, fields, opt)
	if err != nil || !f.Match(glRow()) {
		t.Errorf("1500-term chain: %v", err)
	}
	tooLong := "description eq '" + strings.Repeat("x", DefaultMaxLength) + "'"
	f, err = ParseFilter(tooLong, fields, opt)
	checkError(t, "too long", f, err, 400, CodeBadRequest, "The $filter expression is 32785 characters long; the limit is 32768. …")
	small := opt
	small.MaxLength = 10
	f, err = ParseFilter("entryNumber eq 1", fields, small)
	checkError(t, "MaxLength", f, err, 400, CodeBadRequest, "The $filter expression is 16 characters long; the limit is 10. …")
}

func TestFilterEmptyAndNil(t *testing.T) {
	t.Parallel()
	fields, opt := setup(t)
	for _, s := range []string{"", "   "} {
		f, err := ParseFilter(s, fields, opt)
		if err != nil || !f.Match(glRow()) || !f.MatchesAll() || f.Constraints("entryNumber") != nil {
			t.Errorf("ParseFilter(%q) = %v, %v; want match-all", s, f, err)
		}
	}
	var nilFilter *Filter
	if !nilFilter.Match(nil) || nilFilter.Constraints("x") != nil {
		t.Error("nil *Filter must match everything and constrain nothing")
	}
	// A nil FieldLookup knows no properties.
	f, err := ParseFilter("entryNumber eq 1", nil, Options{})
	checkError(t, "nil lookup", f, err, 400, CodeNotFound, "Could not find a property named 'entryNumber' on type 'Microsoft.NAV.entity'.")
	// Only a lambda: the whole condition is dropped.
	f, err = ParseFilter("dimensionSetLines/any(d: d/code eq 'X')", fields, opt)
	if err != nil || !f.MatchesAll() {
		t.Errorf("lambda-only filter = %v, %v; want match-all", f, err)
	}
}

func TestFilterMissingAndOddValues(t *testing.T) {
	t.Parallel()
	fields, opt := setup(t)
	// BC always sends every field; a missing or nil one reads as blank.
	tests := []struct {
		filter string
		row    map[string]any
		want   bool
	}{
		{"accountId eq null", map[string]any{}, true},
		{"accountId eq 00000000-0000-0000-0000-000000000000", map[string]any{"accountId": nil}, true},
		{"entryNumber eq 0", map[string]any{}, true},
		{"lastModifiedDateTime eq null", map[string]any{}, true},
		{"lastModifiedDateTime eq 0001-01-01T00:00:00Z", map[string]any{}, true},
		{"postingDate eq 0001-01-01", map[string]any{}, true},
		{"description eq ''", map[string]any{}, true},
		{"blocked eq false", map[string]any{}, true},
		// Go types other than the contract's still compare sensibly.
		{"entryNumber eq 5", map[string]any{"entryNumber": 5}, true},
		{"entryNumber eq 5", map[string]any{"entryNumber": int32(5)}, true},
		{"entryNumber eq 5", map[string]any{"entryNumber": 5.0}, true},
		{"debitAmount eq 5", map[string]any{"debitAmount": int64(5)}, true},
		{"entryNumber eq 5", map[string]any{"entryNumber": "5"}, false},
		{"contains(description,'a')", map[string]any{"description": 42}, false},
		{"id eq 5d115c9c-44e3-ea11-bb43-000d3a2feca1", map[string]any{"id": "5D115C9C-44E3-EA11-BB43-000D3A2FECA1"}, true},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter, fields, opt)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.filter, err)
			continue
		}
		if got := f.Match(tt.row); got != tt.want {
			t.Errorf("%q on %v = %v, want %v", tt.filter, tt.row, got, tt.want)
		}
	}
}

func TestConstraints(t *testing.T) {
	t.Parallel()
	fields, base := setup(t)
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		filter string
		ci     bool
		field  string
		want   []Comparison
	}{
		{"lastModifiedDateTime gt 2024-01-01T00:00:00Z and entryNumber ge 100", false, "entryNumber", []Comparison{{"ge", int64(100)}}},
		{"lastModifiedDateTime gt 2024-01-01T01:00:00+01:00 and entryNumber ge 100", false, "lastModifiedDateTime", []Comparison{{"gt", ts}}},
		{"entryNumber ge 1 and entryNumber lt 5001", false, "entryNumber", []Comparison{{"ge", int64(1)}, {"lt", int64(5001)}}},
		{"5001 gt entryNumber", false, "entryNumber", []Comparison{{"lt", int64(5001)}}},
		{"entryNumber gt 1.5 and entryNumber lt 9.5", false, "entryNumber", []Comparison{{"ge", int64(2)}, {"le", int64(9)}}},
		{"(entryNumber ge 1 and entryNumber le 9) and blocked", false, "entryNumber", []Comparison{{"ge", int64(1)}, {"le", int64(9)}}},
		{"blocked", false, "blocked", []Comparison{{"eq", true}}},
		{"entryNumber eq null", false, "entryNumber", []Comparison{{"eq", int64(0)}}},
		{"debitAmount ge 100", false, "debitAmount", []Comparison{{"ge", float64(100)}}},
		{"postingDate ge 2024-01-01 and postingDate le 2024-12-31", false, "postingDate", []Comparison{{"ge", "2024-01-01"}, {"le", "2024-12-31"}}},
		{"id eq 5D115C9C-44E3-EA11-BB43-000D3A2FECA1", false, "id", []Comparison{{"eq", "5d115c9c-44e3-ea11-bb43-000d3a2feca1"}}},
		{"id eq 5D115C9C-44E3-EA11-BB43-000D3A2FECA1", true, "id", []Comparison{{"eq", "5d115c9c-44e3-ea11-bb43-000d3a2feca1"}}},
		{"documentNumber eq 'G1'", false, "documentNumber", []Comparison{{"eq", "G1"}}},
		// Not implied by every matching row, or not on the stored value: left out.
		{"entryNumber eq 1 or entryNumber eq 2", false, "entryNumber", nil},
		{"entryNumber ne 5", false, "entryNumber", nil},
		{"not (entryNumber lt 5)", false, "entryNumber", nil},
		{"entryNumber eq 1.5", false, "entryNumber", nil},
		{"tolower(documentNumber) eq 'x'", false, "documentNumber", nil},
		{"substring(documentNumber,1) eq 'x'", false, "documentNumber", nil},
		{"documentNumber eq 'X'", true, "documentNumber", nil},
		{"contains(documentNumber,'X')", false, "documentNumber", nil},
		{"entryNumber ge 1", false, "postingDate", nil},
	}
	for _, tt := range tests {
		opt := base
		opt.CaseInsensitive = tt.ci
		f, err := ParseFilter(tt.filter, fields, opt)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.filter, err)
			continue
		}
		if got := f.Constraints(tt.field); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFilter(%q).Constraints(%q) = %#v, want %#v", tt.filter, tt.field, got, tt.want)
		}
	}
}

func TestSchemaVersion(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{"": false, "2.0": false, "1.0": false, "2.1": true, " 2.1 ": true, "2.10": true, "3.0": true, "x": false, "2": false} {
		if got := atLeast21(v); got != want {
			t.Errorf("atLeast21(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestDecodeXMLName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Credit_x0020_Memo":       "Credit Memo",
		"G_x002F_L_x0020_Account": "G/L Account",
		"_x0020_":                 " ",
		"City_x002B_County_x002B_Post_x0020_Code": "City+County+Post Code",
		"Plain":      "Plain",
		"Bad_xZZZZ_": "Bad_xZZZZ_",
		"_x00":       "_x00",
	} {
		if got := DecodeXMLName(in); got != want {
			t.Errorf("DecodeXMLName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorInterface(t *testing.T) {
	t.Parallel()
	_, err := ParseFilter("x eq", nil, Options{})
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "BadRequest_NotFound") {
		t.Fatalf("err = %v", err)
	}
}

// TestOnlyConstraints: a filter is only Constraints when every top-level `and` term is one;
// anything else (or, not, ne, functions, case-insensitive text) needs Match.
func TestOnlyConstraints(t *testing.T) {
	t.Parallel()
	fields, base := setup(t)
	for filter, want := range map[string]bool{
		"": true,
		"entryNumber ge 1 and entryNumber lt 5001":                              true,
		"5001 gt entryNumber":                                                   true,
		"(entryNumber ge 1 and entryNumber le 9) and postingDate ge 2024-01-01": true,
		"entryNumber ge 1 and contains(documentNumber,'X')":                     false,
		"entryNumber ne 5":                                                      false,
		"entryNumber eq 1 or entryNumber eq 2":                                  false,
		"not (entryNumber lt 5)":                                                false,
		"tolower(documentNumber) eq 'x'":                                        false,
		"entryNumber eq 1.5":                                                    false,
	} {
		f, err := ParseFilter(filter, fields, base)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", filter, err)
			continue
		}
		if got := f.OnlyConstraints(); got != want {
			t.Errorf("ParseFilter(%q).OnlyConstraints() = %v, want %v", filter, got, want)
		}
	}
	opt := base
	opt.CaseInsensitive = true
	if f, err := ParseFilter("documentNumber eq 'X'", fields, opt); err != nil || f.OnlyConstraints() {
		t.Errorf("a case-insensitive text comparison: OnlyConstraints true or %v, want false", err)
	}
}
