package store_test

import (
	"errors"
	"testing"

	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// FuzzCACertificates: whatever an admin pastes as CA certificates, the parser answers
// certificates or an ErrInvalid, never a panic, and never both.
func FuzzCACertificates(f *testing.F) {
	f.Add(storetest.CAPEM(f, "Seed CA"))
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	f.Add(storetest.KeyPEM(f))
	f.Add("/etc/ssl/ca.pem")
	f.Fuzz(func(t *testing.T, text string) {
		certs, err := store.CACertificates(text)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) || certs != nil {
				t.Fatalf("err %v with %d certificates", err, len(certs))
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
	})
}
