package entra

import "context"

// Bearer adapts a Source to clients that want the bare token string, such as package bc's
// TokenSource, and passes Invalidate through so they can refresh after a 401.
type Bearer struct{ Source *Source }

// Token returns the current access token string.
func (b Bearer) Token(ctx context.Context) (string, error) {
	t, err := b.Source.Token(ctx)
	if err != nil {
		return "", err
	}
	return t.Token, nil
}

// Invalidate drops the cached token.
func (b Bearer) Invalidate() { b.Source.Invalidate() }
