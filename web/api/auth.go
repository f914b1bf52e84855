package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
)

type tokenKey struct{}

// ErrNoBearer is Authenticate's answer to a request without a bcc_ bearer token.
var ErrNoBearer = errors.New("no bearer token")

// Authenticate returns the API token that r carries as Authorization: Bearer bcc_…:
// ErrNoBearer without one, an error wrapping store.ErrNotFound for an unknown or revoked
// token.
func Authenticate(ctx context.Context, tokens store.TokenStore, r *http.Request) (store.Token, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.HasPrefix(tok, store.TokenPrefix) {
		return store.Token{}, ErrNoBearer
	}
	return tokens.AuthenticateToken(ctx, store.HashToken(tok))
}

// auth authenticates the bearer token and puts it in the request's context.
func (a *api) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := Authenticate(r.Context(), a.tokens, r)
		if errors.Is(err, ErrNoBearer) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bcconnector"`)
			writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "send Authorization: Bearer bcc_… with a token from `bcconnector token create`"})
			return
		}
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.log.Error("token check failed", "err", err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="bcconnector", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "the token is unknown or revoked"})
			return
		}
		// What the call changes, the audit log attributes to the token's name.
		ctx := store.WithActor(context.WithValue(r.Context(), tokenKey{}, t), store.Actor{Kind: store.ActorToken, Name: t.Name})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func token(r *http.Request) store.Token {
	t, _ := r.Context().Value(tokenKey{}).(store.Token)
	return t
}
