package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// StartOptions configures Start.
type StartOptions struct {
	// Addr is the listen address; default "127.0.0.1:8443". Port 0 picks a free port.
	Addr string
	// CAFile is where the generated CA certificate (PEM) is written; default ca.pem in a
	// directory of this run's own under os.TempDir() (bcemulator-*, mode 0700), removed by
	// Close: one fixed name in a shared temp directory could be planted or overwritten by
	// another user, and two emulators would overwrite each other's CA. Clients trust it to
	// reach the emulator.
	CAFile string
	// Hosts are extra DNS names or IPs for the server certificate, beyond localhost,
	// 127.0.0.1, ::1 and the listen host.
	Hosts []string
	// Wrap, if set, wraps the emulator's handler (tests that record or drop traffic on the
	// wire).
	Wrap func(http.Handler) http.Handler
}

// Server is an emulator running on a real TLS listener.
type Server struct {
	*Emulator
	// URL is the base URL, e.g. https://127.0.0.1:8443: the Entra authority host and the
	// host of the BC API.
	URL string
	// CAFile holds the PEM of the CA that signed the server certificate.
	CAFile string
	// CertPool trusts the CA, for Go clients in the same process.
	CertPool *x509.CertPool

	srv    *http.Server
	done   chan error
	runDir string // the default CA file's own directory; "" when CAFile was given
}

// AuthorityHost is the Entra authority host to configure in clients (azidentity's
// cloud.Configuration.ActiveDirectoryAuthorityHost).
func (s *Server) AuthorityHost() string { return s.URL + "/" }

// BCBaseURL is the BC API base URL, the stand-in for https://api.businesscentral.dynamics.com/v2.0.
func (s *Server) BCBaseURL() string { return s.URL + "/v2.0" }

// Client returns an HTTP client that trusts the emulator's CA.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.CertPool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
		ForceAttemptHTTP2:   true,
	}}
}

// Start builds an emulator and serves it over HTTPS with a freshly generated CA, written to
// opt.CAFile. HTTPS is required: azidentity and MSAL refuse non-https authorities
// (bc-entra-facts §0.9).
func Start(cfg Config, opt StartOptions) (*Server, error) {
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:8443"
	}
	ln, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: listen on %s: %w (use --listen to pick another address)", opt.Addr, err)
	}
	var runDir string // the default CA file's directory, removed by Close
	if opt.CAFile == "" {
		if runDir, err = os.MkdirTemp("", "bcemulator-"); err != nil {
			ln.Close()
			return nil, fmt.Errorf("emulator: directory for the CA file: %w", err)
		}
		opt.CAFile = filepath.Join(runDir, "ca.pem")
	}
	fail := func(err error) (*Server, error) {
		ln.Close()
		if runDir != "" {
			_ = os.RemoveAll(runDir)
		}
		return nil, err
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	hosts := append([]string{"localhost", "127.0.0.1", "::1", host}, opt.Hosts...)
	caPEM, cert, pool, err := newCertificates(hosts)
	if err != nil {
		return fail(err)
	}
	if err := os.WriteFile(opt.CAFile, caPEM, 0o644); err != nil {
		return fail(fmt.Errorf("emulator: write CA file %s: %w", opt.CAFile, err))
	}
	if cfg.WebhookClient == nil {
		// Deliveries to receivers on this machine may use the emulator's CA too.
		roots, _ := x509.SystemCertPool()
		if roots == nil {
			roots = x509.NewCertPool()
		}
		roots.AppendCertsFromPEM(caPEM)
		cfg.WebhookClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	}
	emu, err := New(cfg)
	if err != nil {
		return fail(err)
	}
	urlHost := host
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		urlHost = "[" + host + "]"
	}
	s := &Server{
		Emulator: emu,
		URL:      "https://" + urlHost + ":" + port,
		CAFile:   opt.CAFile,
		CertPool: pool,
		done:     make(chan error, 1),
		runDir:   runDir,
	}
	var h http.Handler = emu
	if opt.Wrap != nil {
		h = opt.Wrap(emu)
	}
	s.srv = &http.Server{
		Handler:           h,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		// §5: BC's gateway cuts requests at 10 minutes.
		WriteTimeout: 10 * time.Minute,
		// Clients that hang up mid-handshake (killed processes, probes) are not news.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		err := s.srv.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Close stops the server and the emulator.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	_ = s.Emulator.Close()
	if e := <-s.done; err == nil {
		err = e
	}
	if s.runDir != "" {
		_ = os.RemoveAll(s.runDir)
	}
	return err
}

// newCertificates makes a CA and a server certificate for hosts, valid for a year.
func newCertificates(hosts []string) (caPEM []byte, cert tls.Certificate, pool *x509.CertPool, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, nil, err
	}
	now := time.Now()
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
		return n
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "bcconnector emulator CA", Organization: []string{"bcconnector sandbox"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, cert, nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "bcconnector emulator"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
		} else if h != "" {
			leafTmpl.DNSNames = append(leafTmpl.DNSNames, h)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, cert, nil, err
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	cert = tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	return caPEM, cert, pool, nil
}
