package registrytest

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long Start waits for GET /v2/ to answer.
const startTimeout = 10 * time.Second

// bindAttempts is how many ports Start tries when the one it picked was
// taken between choosing it and the registry binding it.
const bindAttempts = 3

// Options choose what the registry serves. The zero value is plain HTTP
// without authentication.
type Options struct {
	// TLS serves HTTPS with a certificate for 127.0.0.1, ::1 and localhost,
	// signed by a fresh self-signed CA (see Registry.CACert).
	TLS bool
	// Username and Password, both set, turn on htpasswd basic auth (bcrypt).
	Username string
	Password string
}

// Registry is a running docker-registry. Its fields are read-only.
type Registry struct {
	Addr     string // "127.0.0.1:PORT"
	URL      string // "http://Addr" or "https://Addr"
	Root     string // storage root directory (storage.filesystem.rootdirectory)
	CACert   string // path to the CA certificate PEM (TLS only)
	CertsDir string // certs root like /etc/docker/certs.d: <CertsDir>/<Addr>/ca.crt (TLS only)
	Username string // basic auth user, empty without auth
	Password string // basic auth password, empty without auth
	LogPath  string // the registry's stdout and stderr
	PID      int    // the docker-registry process

	client *http.Client
	proc   *process // the current docker-registry; replaced only during Start
}

// process is one docker-registry child and the goroutine that waits for it.
type process struct {
	cmd      *exec.Cmd
	logFile  *os.File
	done     chan struct{} // closed when cmd.Wait returns
	stopOnce sync.Once
}

// stop kills the process (by its PID) and waits for it; idempotent.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Kill() // fails only if it already exited
		<-p.done
		_ = p.logFile.Close()
	})
}

// Start runs docker-registry with storage in a fresh temporary directory and
// returns once GET /v2/ answers (200, or 401 with auth). It fails the test
// if the binary is missing or the registry does not come up within about
// ten seconds; the message then includes the tail of the registry's log.
// The registry is stopped by t.Cleanup.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	bin, err := registryBinary()
	if err != nil {
		t.Fatalf("start registry: %v", err)
	}
	if (opts.Username == "") != (opts.Password == "") {
		t.Fatalf("start registry: Username and Password must be set together")
	}

	dir := t.TempDir()
	r := &Registry{
		Root:     filepath.Join(dir, "storage"),
		LogPath:  filepath.Join(dir, "registry.log"),
		Username: opts.Username,
		Password: opts.Password,
	}
	if err := os.Mkdir(r.Root, 0o755); err != nil {
		t.Fatalf("start registry: %v", err)
	}

	var tlsFiles *tlsFiles
	scheme := "http"
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if opts.TLS {
		scheme = "https"
		tlsFiles, err = writeTLS(filepath.Join(dir, "tls"))
		if err != nil {
			t.Fatalf("start registry: %v", err)
		}
		r.CACert = tlsFiles.caCert
		pool := x509.NewCertPool()
		pool.AddCert(tlsFiles.ca)
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	r.client = &http.Client{Transport: transport, Timeout: 30 * time.Second}

	htpasswdPath := ""
	if opts.Username != "" {
		htpasswdPath = filepath.Join(dir, "htpasswd")
		if err := writeHtpasswd(htpasswdPath, opts.Username, opts.Password); err != nil {
			t.Fatalf("start registry: %v", err)
		}
	}

	for attempt := 1; ; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("start registry: %v", err)
		}
		cfg := config(addr, r.Root, tlsFiles, htpasswdPath)
		cfgPath := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatalf("start registry: %v", err)
		}
		r.Addr = addr
		r.URL = scheme + "://" + addr
		if err := r.run(bin, cfgPath, dir); err != nil {
			t.Fatalf("start registry: %v", err)
		}
		err = r.waitReady()
		if err == nil {
			break
		}
		r.Stop()
		tail := logTail(r.LogPath)
		if errors.Is(err, errExited) && strings.Contains(tail, "address already in use") && attempt < bindAttempts {
			continue
		}
		t.Fatalf("start registry on %s: %v\nregistry log (%s):\n%s", addr, err, r.LogPath, tail)
	}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(r.Stop)

	if opts.TLS {
		r.CertsDir = filepath.Join(dir, "certs.d")
		hostDir := filepath.Join(r.CertsDir, r.Addr)
		if err := os.MkdirAll(hostDir, 0o755); err != nil {
			t.Fatalf("start registry: %v", err)
		}
		if err := os.WriteFile(filepath.Join(hostDir, "ca.crt"), tlsFiles.caPEM, 0o644); err != nil {
			t.Fatalf("start registry: %v", err)
		}
	}
	return r
}

// Stop kills the registry process and waits for it to exit. It is
// idempotent and safe to call from several goroutines.
func (r *Registry) Stop() {
	if r.proc != nil {
		r.proc.stop()
	}
}

// Client returns an HTTP client that trusts the registry's CA (with TLS).
// It sends no credentials: set them per request with Request.SetBasicAuth.
func (r *Registry) Client() *http.Client {
	return r.client
}

// BlobPath returns the filesystem path of the data file of the stored blob
// dgst ("sha256:<hex>"): <Root>/docker/registry/v2/blobs/sha256/<hex[0:2]>/<hex>/data.
// The blob need not exist.
func (r *Registry) BlobPath(dgst string) string {
	alg, hex, ok := strings.Cut(dgst, ":")
	if !ok {
		alg, hex = "sha256", dgst
	}
	prefix := hex
	if len(prefix) > 2 {
		prefix = prefix[:2]
	}
	return filepath.Join(r.Root, "docker", "registry", "v2", "blobs", alg, prefix, hex, "data")
}

// Tamper rewrites the stored blob dgst with some bytes inverted, keeping its
// size, so the registry serves content whose digest is not dgst. The
// registry reads blob content from disk on every request (only descriptors
// are cached), so the change is visible at once. It fails the test if the
// blob is not stored or is empty.
func (r *Registry) Tamper(t testing.TB, dgst string) {
	t.Helper()
	path := r.BlobPath(dgst)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("tamper blob %s: %v", dgst, err)
	}
	if len(data) == 0 {
		t.Fatalf("tamper blob %s: blob is empty", dgst)
	}
	// Invert the first, middle and last byte (each at most once).
	flipped := map[int]bool{}
	for _, i := range []int{0, len(data) / 2, len(data) - 1} {
		if !flipped[i] {
			data[i] ^= 0xff
			flipped[i] = true
		}
	}
	tmp := path + ".tamper"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatalf("tamper blob %s: %v", dgst, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatalf("tamper blob %s: %v", dgst, err)
	}
}

// FreeAddr returns a loopback address ("127.0.0.1:PORT") with nothing
// listening on it, for tests of a registry or mirror that is down.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatalf("find free address: %v", err)
	}
	return addr
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on loopback: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("close listener %s: %w", addr, err)
	}
	return addr, nil
}

func registryBinary() (string, error) {
	const debian = "/usr/bin/docker-registry"
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return "", fmt.Errorf("find docker-registry (apt-get install docker-registry): %w", err)
	}
	return bin, nil
}

// run starts docker-registry on cfgPath; a goroutine owned by r waits for it
// and closes r.done.
func (r *Registry) run(bin, cfgPath, dir string) error {
	logFile, err := os.OpenFile(r.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open registry log: %w", err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	// A clean environment: REGISTRY_* variables would override the config.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir}
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("run %s: %w", bin, err)
	}
	p := &process{cmd: cmd, logFile: logFile, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	r.proc = p
	r.PID = cmd.Process.Pid
	return nil
}

var errExited = errors.New("registry exited")

// waitReady polls GET /v2/ until the registry answers 200 or 401.
func (r *Registry) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-r.proc.done:
			return fmt.Errorf("wait for registry: %w: %s", errExited, r.proc.cmd.ProcessState)
		default:
		}
		req, err := http.NewRequest(http.MethodGet, r.URL+"/v2/", nil)
		if err != nil {
			return fmt.Errorf("build request: %w", err)
		}
		client := *r.client
		client.Timeout = time.Second
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("GET /v2/: status %s", resp.Status)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("wait for registry: no answer within %s: %w", startTimeout, last)
}

// config renders the registry's config.yml.
func config(addr, root string, tf *tlsFiles, htpasswdPath string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, `version: 0.1
log:
  level: warn
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  cache:
    # Descriptors only: blob content is always read from disk (see Tamper).
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: true
http:
  addr: %s
  secret: %s
`, root, addr, rand.Text())
	if tf != nil {
		fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n", tf.serverCert, tf.serverKey)
	}
	if htpasswdPath != "" {
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: berth-test\n    path: %q\n", htpasswdPath)
	}
	return b.String()
}

// writeHtpasswd writes a bcrypt htpasswd file with Apache's htpasswd
// (golang.org/x/crypto is not in berth's module graph).
func writeHtpasswd(path, user, password string) error {
	bin, err := exec.LookPath("htpasswd")
	if err != nil {
		return fmt.Errorf("find htpasswd (apt-get install apache2-utils): %w", err)
	}
	out, err := exec.Command(bin, "-Bbn", user, password).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("run htpasswd: %w: %s", err, ee.Stderr)
		}
		return fmt.Errorf("run htpasswd: %w", err)
	}
	line := strings.TrimSpace(string(out))
	if !strings.HasPrefix(line, user+":$2") {
		return fmt.Errorf("run htpasswd: unexpected output %q", line)
	}
	if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
		return fmt.Errorf("write htpasswd: %w", err)
	}
	return nil
}

// logTail returns the last few KiB of the registry log.
func logTail(path string) string {
	const max = 4 << 10
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(read log: %v)", err)
	}
	if len(data) > max {
		data = data[len(data)-max:]
	}
	if len(data) == 0 {
		return "(empty)"
	}
	return string(data)
}
