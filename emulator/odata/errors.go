package odata

import (
	"fmt"
	"net/http"
)

// BC error codes this package answers with (bc-entra-facts §3.3).
const (
	// CodeNotFound is what BC answers for OData URI parser and binder failures: syntax
	// errors ("Expression expected at position N in '…'."), unknown properties, type
	// mismatches (bc-entra-facts §3.3: ODataNotFoundException).
	CodeNotFound = "BadRequest_NotFound"
	// CodeBadRequest is the generic malformed-request code (ODataBadRequestException).
	CodeBadRequest = "BadRequest"
	// CodeInvalidRequestURL is ODataArgumentException's code.
	CodeInvalidRequestURL = "BadRequest_InvalidRequestUrl"
	// CodeNotImplemented is what BC answers, with HTTP 501, for filters it cannot translate
	// into an AL filter: `or` across distinct fields and `in` without $schemaversion=2.1
	// were both observed live with this code and status (third-party reports; the docs give
	// the message only). The emulator uses it for every "no AL approximation" case.
	CodeNotImplemented = "BadRequest_MethodNotImplemented"
)

// MsgOrAcrossFields is BC's exact message for `or` on two different fields
// (odata-known-limitations.md; bc-entra-facts §4.2).
const MsgOrAcrossFields = "The 'OR' operator is not supported on distinct fields on an OData filter."

// Error is a query-option error in BC's shape: the HTTP status, the BC error code and the
// message. The message carries no "  CorrelationId:  <guid>." suffix; the HTTP layer adds it
// when it writes the body (bc-entra-facts §3.2).
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// badRequest is a 400 with code BadRequest_NotFound: the ODataLib parser/binder failures.
func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

// notImplemented is a 501 BadRequest_MethodNotImplemented: valid OData that BC cannot
// translate into an AL filter.
func notImplemented(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotImplemented, Code: CodeNotImplemented, Message: fmt.Sprintf(format, args...)}
}

// Message templates copied from ODataLib (Microsoft.OData.Core.txt), which BC's OData
// stack uses to parse query options; BC passes these messages through.
func errSyntax(pos int, text string) *Error {
	return badRequest("Syntax error at position %d in '%s'.", pos, text)
}

func errExpressionExpected(pos int, text string) *Error {
	return badRequest("Expression expected at position %d in '%s'.", pos, text)
}

func errCloseParenOrOperator(pos int, text string) *Error {
	return badRequest("')' or operator expected at position %d in '%s'.", pos, text)
}

func errCloseParenOrComma(pos int, text string) *Error {
	return badRequest("')' or ',' expected at position %d in '%s'.", pos, text)
}

func errOpenParen(pos int, text string) *Error {
	return badRequest("'(' expected at position %d in '%s'.", pos, text)
}

func errInvalidChar(ch rune, pos int, text string) *Error {
	return badRequest("Syntax error: character '%c' is not valid at position %d in '%s'.", ch, pos, text)
}

func errUnterminatedString(pos int, text string) *Error {
	return badRequest("There is an unterminated string literal at position %d in '%s'.", pos, text)
}

func errUnrecognizedLiteral(edm, lit string, pos int, text string) *Error {
	return badRequest("Unrecognized '%s' literal '%s' at '%d' in '%s'.", edm, lit, pos, text)
}

func errTooDeep() *Error { return badRequest("Recursion depth exceeded allowed limit.") }

func errPropertyNotFound(prop, typ string) *Error {
	return badRequest("Could not find a property named '%s' on type '%s'.", prop, typ)
}

func errIncompatible(left, right, opKind string) *Error {
	return badRequest("A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.", left, right, opKind)
}

func errIncompatibleUnary(typ, opKind string) *Error {
	return badRequest("A unary operator with an incompatible type was detected. Found operand type '%s' for operator kind '%s'.", typ, opKind)
}

func errNotBoolean() *Error {
	return badRequest("The $filter expression must evaluate to a single boolean value.")
}

func errUnknownFunction(name string) *Error {
	return badRequest("An unknown function with name '%s' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.", name)
}

func errNoSignature(name string) *Error {
	return badRequest("No function signature for the function with name '%s' matches the specified arguments. The function signatures considered are: %s.", name, signatures(name))
}

func errNotEnumConstant(s string) *Error {
	return badRequest("The string '%s' is not a valid enumeration type constant.", s)
}

// signatures lists the overloads ODataLib names in errNoSignature.
func signatures(name string) string {
	switch name {
	case "contains", "startswith", "endswith":
		return name + "(Edm.String Nullable=true, Edm.String Nullable=true)"
	case "tolower", "toupper":
		return name + "(Edm.String Nullable=true)"
	case "substring":
		return "substring(Edm.String Nullable=true, Edm.Int32 Nullable=false); substring(Edm.String Nullable=true, Edm.Int32 Nullable=false, Edm.Int32 Nullable=false)"
	}
	return name + "()"
}
