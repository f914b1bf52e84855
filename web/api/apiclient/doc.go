// Package apiclient is a Go client of bcconnector's JSON API generated from its OpenAPI
// document (web/api/openapi.json) by oapi-codegen, the version go.mod pins as a tool. It
// is what an integrator generates; web/api's tests make real calls with it, and check
// that it is generated from the current document. Regenerate with `go generate
// ./web/api/apiclient` after changing openapi.json.
package apiclient

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.json
