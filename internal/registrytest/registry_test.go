package registrytest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth.dev/berth/internal/registrytest"
)

func TestStart(t *testing.T) {
	tests := []struct {
		name   string
		opts   registrytest.Options
		scheme string
	}{
		{name: "plain", scheme: "http"},
		{name: "tls", opts: registrytest.Options{TLS: true}, scheme: "https"},
		{name: "auth", opts: registrytest.Options{Username: "alice", Password: "s3cret"}, scheme: "http"},
		{name: "tls+auth", opts: registrytest.Options{TLS: true, Username: "alice", Password: "s3cret"}, scheme: "https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := registrytest.Start(t, tc.opts)
			if !strings.HasPrefix(r.Addr, "127.0.0.1:") {
				t.Errorf("Addr = %q, want 127.0.0.1:PORT", r.Addr)
			}
			if want := tc.scheme + "://" + r.Addr; r.URL != want {
				t.Errorf("URL = %q, want %q", r.URL, want)
			}
			if fi, err := os.Stat(r.Root); err != nil || !fi.IsDir() {
				t.Errorf("Root %s is not a directory: %v", r.Root, err)
			}
			if r.PID <= 0 {
				t.Errorf("PID = %d", r.PID)
			}

			auth := tc.opts.Username != ""
			if got := getV2(t, r, "", ""); auth && got != http.StatusUnauthorized || !auth && got != http.StatusOK {
				t.Errorf("GET /v2/ without credentials: status %d", got)
			}
			if auth {
				if got := getV2(t, r, tc.opts.Username, tc.opts.Password); got != http.StatusOK {
					t.Errorf("GET /v2/ with credentials: status %d, want 200", got)
				}
				if got := getV2(t, r, tc.opts.Username, "wrong"); got != http.StatusUnauthorized {
					t.Errorf("GET /v2/ with a wrong password: status %d, want 401", got)
				}
			}

			if !tc.opts.TLS {
				if r.CACert != "" || r.CertsDir != "" {
					t.Errorf("CACert = %q, CertsDir = %q without TLS, want empty", r.CACert, r.CertsDir)
				}
				return
			}
			ca, err := os.ReadFile(r.CACert)
			if err != nil {
				t.Fatal(err)
			}
			inCertsDir, err := os.ReadFile(filepath.Join(r.CertsDir, r.Addr, "ca.crt"))
			if err != nil {
				t.Fatalf("certs.d layout: %v", err)
			}
			if !bytes.Equal(ca, inCertsDir) {
				t.Errorf("<CertsDir>/<Addr>/ca.crt differs from CACert")
			}
			// A client that does not trust the CA is refused.
			if _, err := http.Get(r.URL + "/v2/"); err == nil {
				t.Errorf("GET %s/v2/ with the system roots succeeded, want a certificate error", r.URL)
			}
		})
	}
}

func TestTamper(t *testing.T) {
	r := registrytest.Start(t, registrytest.Options{TLS: true, Username: "bob", Password: "pw"})
	blob := bytes.Repeat([]byte("berth registrytest blob\n"), 1000)
	sum := sha256.Sum256(blob)
	dgst := "sha256:" + hex.EncodeToString(sum[:])
	upload(t, r, "test/blob", dgst, blob)

	path := r.BlobPath(dgst)
	want := filepath.Join(r.Root, "docker/registry/v2/blobs/sha256", dgst[7:9], dgst[7:], "data")
	if path != want {
		t.Errorf("BlobPath = %s, want %s", path, want)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stored blob: %v", err)
	}
	if got := fetch(t, r, "test/blob", dgst); !bytes.Equal(got, blob) {
		t.Fatalf("fetched blob differs from the uploaded one before Tamper")
	}

	r.Tamper(t, dgst)
	got := fetch(t, r, "test/blob", dgst)
	if len(got) != len(blob) {
		t.Errorf("tampered blob has %d bytes, want %d (same size)", len(got), len(blob))
	}
	if gotSum := sha256.Sum256(got); gotSum == sum {
		t.Errorf("tampered blob still hashes to %s", dgst)
	}
}

func TestStop(t *testing.T) {
	r := registrytest.Start(t, registrytest.Options{})
	if err := syscall.Kill(r.PID, 0); err != nil {
		t.Fatalf("registry pid %d not running before Stop: %v", r.PID, err)
	}
	r.Stop()
	if err := syscall.Kill(r.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill -0 %d after Stop: %v, want ESRCH", r.PID, err)
	}
	r.Stop() // idempotent; t.Cleanup calls it a third time
	if _, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
		t.Errorf("dial %s after Stop succeeded", r.Addr)
	}
}

func TestFreeAddr(t *testing.T) {
	addr := registrytest.FreeAddr(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("FreeAddr = %q, want 127.0.0.1:PORT", addr)
	}
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("dial %s succeeded, want connection refused", addr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s: %v, want connection refused", addr, err)
	}
}

// getV2 returns the status of GET /v2/, with basic auth when user is set.
func getV2(t *testing.T, r *registrytest.Registry, user, password string) int {
	t.Helper()
	resp := do(t, r, http.MethodGet, r.URL+"/v2/", user, password, nil)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// upload pushes blob to repo with a monolithic upload (POST then PUT).
func upload(t *testing.T, r *registrytest.Registry, repo, dgst string, blob []byte) {
	t.Helper()
	resp := do(t, r, http.MethodPost, r.URL+"/v2/"+repo+"/blobs/uploads/", r.Username, r.Password, nil)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: status %s", resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("start upload: %v", err)
	}
	q := loc.Query()
	q.Set("digest", dgst)
	loc.RawQuery = q.Encode()
	resp = do(t, r, http.MethodPut, loc.String(), r.Username, r.Password, blob)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish upload: status %s: %s", resp.Status, body)
	}
}

// fetch returns the body of GET /v2/<repo>/blobs/<dgst>.
func fetch(t *testing.T, r *registrytest.Registry, repo, dgst string) []byte {
	t.Helper()
	resp := do(t, r, http.MethodGet, r.URL+"/v2/"+repo+"/blobs/"+dgst, r.Username, r.Password, nil)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read blob %s: %v", dgst, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get blob %s: status %s", dgst, resp.Status)
	}
	return body
}

func do(t *testing.T, r *registrytest.Registry, method, rawURL, user, password string, body []byte) *http.Response {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u.String(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := r.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	return resp
}
