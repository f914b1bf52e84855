package entra_test

import "github.com/bizzjoiner/bcconnector/secret"

// clientSecret turns a test's secret string into the type entra.Config takes (some tests
// name a constant "secret", which hides the package).
func clientSecret(s string) secret.Secret { return secret.Secret(s) }
