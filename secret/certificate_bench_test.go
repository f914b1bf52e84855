package secret

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkGenerateCertificate is what an admin waits for when bcconnector makes a
// certificate (wizard Step 3, connection add --certificate, a rotation): an RSA key pair
// and a self-signed certificate. RSA key generation dominates and varies from run to run
// (it searches for primes), so read the mean over many runs.
func BenchmarkGenerateCertificate(b *testing.B) {
	for _, bits := range []int{MinCertificateBits, DefaultCertificateBits} {
		b.Run(fmt.Sprintf("bits=%d", bits), func(b *testing.B) {
			end := time.Now().AddDate(1, 0, 0)
			for b.Loop() {
				if _, err := GenerateCertificate(CertificateOptions{Subject: "bench", NotAfter: end, Bits: bits}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
