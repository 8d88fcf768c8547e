package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// listen wraps ln in TLS when --tls-cert/--tls-key or --tls-self-signed
// ask for it, and returns the URL scheme to announce and a line to print
// about the certificate. Legacy WCF clients with
// TransportWithMessageCredential refuse a plain http endpoint.
func (h *hardeningFlags) listen(ln net.Listener) (_ net.Listener, scheme, note string, _ error) {
	var cert tls.Certificate
	switch {
	case h.tlsCert != "":
		var err error
		if cert, err = tls.LoadX509KeyPair(h.tlsCert, h.tlsKey); err != nil {
			ln.Close()
			return nil, "", "", fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		note = fmt.Sprintf("  TLS:           %s; SHA-256 fingerprint %s", h.tlsCert, fingerprint(cert.Certificate[0]))
	case h.tlsSelfSigned:
		var err error
		if cert, err = selfSignedCert(time.Now()); err != nil {
			ln.Close()
			return nil, "", "", fmt.Errorf("--tls-self-signed: %w", err)
		}
		note = "  TLS:           self-signed certificate for 127.0.0.1, ::1, localhost; SHA-256 fingerprint " + fingerprint(cert.Certificate[0])
	default:
		return ln, "http", "", nil
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		// TLS 1.2 is the newest that .NET Framework 4.x clients speak
		// by default; nothing older is safe.
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
	}
	return tls.NewListener(ln, cfg), "https", note, nil
}

// selfSignedCert makes an ECDSA P-256 certificate for the loopback names,
// valid for a year from now, held in memory only: a development server
// needs no files, and a fresh key per start leaks nothing when it ends.
func selfSignedCert(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "partnerd development", Organization: []string{"partnerd"}},
		NotBefore:             now.Add(-time.Hour), // tolerate a client clock a little behind
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// Self-signed and a CA, so that a client can trust it as its
		// own root (a pool holding just this certificate).
		IsCA:        true,
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// fingerprint is the SHA-256 of a DER certificate as colon-separated
// upper-case hex, the form browsers and openssl x509 -fingerprint show.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
