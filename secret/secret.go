// Package secret keeps secrets out of logs and out of the database in clear.
//
// [Secret] is a string type that prints as "[REDACTED]" through fmt, encoding/json,
// encoding (text) and log/slog. [Keyring] seals values with AES-256-GCM under a master
// key that lives outside the database (the BCC_MASTER_KEY environment variable or a key
// file with mode 0600, see [LoadKeyring]) and keeps older keys so the master key can be
// rotated without losing what they sealed.
package secret

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a [Secret] prints instead of its value.
const Redacted = "[REDACTED]"

// Secret is a sensitive string, such as an Entra client secret or an access token.
// Its String, GoString, Format, MarshalJSON, MarshalText and LogValue methods all yield
// "[REDACTED]", so a Secret passed to fmt, encoding/json or log/slog never shows its
// value. Call [Secret.Reveal] at the single place that must send it (the token request).
//
// Decoding is not affected: encoding/json decodes a JSON string into a Secret field.
//
// Limitation: fmt cannot call methods on unexported struct fields, so a Secret kept in an
// unexported field of a struct that is itself printed with %v shows its value. Keep
// Secrets in exported fields or in local variables, never in a struct that gets logged.
type Secret string

// Reveal returns the secret's value. Use it only to hand the value to the party that
// needs it, never to log or format it.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String returns "[REDACTED]".
func (Secret) String() string { return Redacted }

// GoString returns "[REDACTED]", so %#v does not show the value either.
func (Secret) GoString() string { return Redacted }

// Format writes "[REDACTED]" for every verb, including %x, %q and %d.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// MarshalJSON returns the JSON string "[REDACTED]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns "[REDACTED]" (used by encoding/xml and text-based encoders).
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue implements slog.LogValuer and returns "[REDACTED]".
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }
