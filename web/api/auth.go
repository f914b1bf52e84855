package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/bizzjoiner/bcconnector/store"
)

type tokenKey struct{}

// auth authenticates the bearer token and puts it in the request's context.
func (a *api) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !strings.HasPrefix(tok, store.TokenPrefix) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bcconnector"`)
			writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "send Authorization: Bearer bcc_… with a token from `bcconnector token create`"})
			return
		}
		t, err := a.tokens.AuthenticateToken(r.Context(), store.HashToken(strings.TrimSpace(tok)))
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.log.Error("token check failed", "err", err)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="bcconnector", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, apiError{Code: "unauthorized", Message: "the token is unknown or revoked"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	})
}

func token(r *http.Request) store.Token {
	t, _ := r.Context().Value(tokenKey{}).(store.Token)
	return t
}
