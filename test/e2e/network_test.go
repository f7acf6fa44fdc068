package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// netEnv is runEnv whose cleanup also removes the env's networks, the
// default bridge device and berth's nftables table, and checks that no
// veth, bridge, rule or DNS process of berth is left.
func netEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("containers need root")
	}
	// Registered before runEnv's cleanup, so it runs after it.
	t.Cleanup(func() {
		// A container's veths go with its network namespace, which the
		// kernel destroys in the background after the exit.
		var links string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			out, _ := exec.Command("ip", "-o", "link").Output()
			links = string(out)
			if !strings.Contains(links, " vb") && !strings.Contains(links, " br-") || time.Now().After(deadline) {
				break
			}
		}
		if strings.Contains(links, " vb") || strings.Contains(links, " br-") {
			t.Errorf("links left: %s", links)
		}
		if out, _ := exec.Command("nft", "list", "table", "ip", "berth").CombinedOutput(); strings.Contains(string(out), "dnat") || strings.Contains(string(out), "comment \"net:br-") {
			t.Errorf("nftables rules left:\n%s", out)
		}
	})
	return runEnv(t)
}

// waitGone waits up to 10 s for no process whose command line holds both
// words (a DNS responder exits a few seconds after its last container).
func waitGone(t *testing.T, what, root string) {
	for i := 0; i < 100; i++ {
		if len(pidsOf(what, root)) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("processes left: %v (%s)", pidsOf(what, root), what)
}

func pidsOf(what, root string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(data), "\x00", " ")
		if strings.Contains(cmd, what) && strings.Contains(cmd, root) {
			out = append(out, e.Name())
		}
	}
	return out
}

func httpGet(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

const httpdCmd = "mkdir -p /www && echo served-by-$(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"

func TestUserNetworkNamesAndPorts(t *testing.T) {
	e := netEnv(t)
	e.ok("network", "create", "app")
	web := strings.TrimSpace(e.ok("run", "-d", "--name", "web", "--hostname", "web", "--network", "app", "--network-alias", "www", "-p", "127.0.0.1:18080:80", "busybox", "sh", "-c", httpdCmd))
	var body string
	waitFor(t, func() bool {
		var err error
		body, err = httpGet("http://127.0.0.1:18080/")
		return err == nil
	})
	if body != "served-by-web\n" {
		t.Fatalf("host curl through -p 127.0.0.1:18080:80: %q", body)
	}
	// Another container on the network reaches it by name and by alias,
	// and pings it.
	out := e.ok("run", "--rm", "--network", "app", "busybox", "sh", "-c", "wget -qO- http://web/ && wget -qO- http://www/ && ping -c 1 -W 2 web >/dev/null && echo pinged")
	if out != "served-by-web\nserved-by-web\npinged\n" {
		t.Fatalf("by name and alias: %q", out)
	}
	// /etc/hosts has the container's own address; resolv.conf points at
	// the network's DNS.
	ip := strings.TrimSpace(e.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", web))
	if hosts := e.ok("exec", web, "cat", "/etc/hosts"); !strings.Contains(hosts, ip+"\tweb") {
		t.Fatalf("/etc/hosts: %q", hosts)
	}
	if out := e.ok("port", web); out != "80/tcp -> 127.0.0.1:18080\n" {
		t.Fatalf("port: %q", out)
	}
	// A second container cannot take the same host port.
	if r := e.run("run", "-d", "--network", "app", "-p", "127.0.0.1:18080:80", "busybox", "true"); r.code != 125 || !strings.Contains(r.err, "18080") {
		t.Fatalf("duplicate host port: %+v", r)
	}
	// -P picks free host ports for EXPOSEd ports.
	id := strings.TrimSpace(e.ok("run", "-d", "--network", "app", "--expose", "80", "-P", "busybox", "sh", "-c", httpdCmd))
	port := strings.TrimSpace(e.ok("port", id, "80"))
	if !strings.HasPrefix(port, "0.0.0.0:") {
		t.Fatalf("port %s 80: %q", id, port)
	}
	_, p, _ := net.SplitHostPort(port)
	waitFor(t, func() bool {
		body, err := httpGet("http://127.0.0.1:" + p + "/")
		return err == nil && strings.HasPrefix(body, "served-by-")
	})
	e.ok("rm", "-f", id, web)
	// Removed with its container: the published port is closed.
	if _, err := httpGet("http://127.0.0.1:18080/"); err == nil {
		t.Fatal("the published port still answers after rm -f")
	}
	if r := e.run("network", "rm", "app"); r.code != 0 {
		t.Fatalf("network rm: %+v", r)
	}
}

func TestNetworkIsolation(t *testing.T) {
	e := netEnv(t)
	e.ok("network", "create", "one")
	e.ok("network", "create", "--internal", "inner")
	e.ok("network", "create", "--subnet", "10.213.0.0/24", "--gateway", "10.213.0.1", "two")
	a := strings.TrimSpace(e.ok("run", "-d", "--name", "aa", "--network", "one", "busybox", "sh", "-c", httpdCmd))
	ipA := strings.TrimSpace(e.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", a))
	// From another network: no route through the host between berth
	// networks. (timeout runs under sh, and not as sh's last command,
	// which sh would exec: as PID 1, wget would ignore its SIGTERM.)
	if r := e.run("run", "--rm", "--network", "two", "busybox", "sh", "-c", "timeout 3 wget -qO- http://"+ipA+"/ || exit 1"); r.code == 0 {
		t.Fatalf("a container on another network reached %s: %q", ipA, r.out)
	}
	// --ip on a --subnet network.
	if out := e.ok("run", "--rm", "--network", "two", "--ip", "10.213.0.77", "busybox", "sh", "-c", "ip -4 -o addr show eth0"); !strings.Contains(out, "10.213.0.77/24") {
		t.Fatalf("--ip: %q", out)
	}
	// --internal: no default route, nothing outside the subnet.
	if out := e.ok("run", "--rm", "--network", "inner", "busybox", "ip", "route"); strings.Contains(out, "default") {
		t.Fatalf("internal network has a default route: %q", out)
	}
	// none: loopback only; host: the host's interfaces.
	if out := e.ok("run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"); strings.TrimSpace(out) != "lo" {
		t.Fatalf("--network none: %q", out)
	}
	hostIfaces, _ := os.ReadDir("/sys/class/net")
	if out := e.ok("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"); len(strings.Fields(out)) != len(hostIfaces) {
		t.Fatalf("--network host sees %q, host has %d interfaces", out, len(hostIfaces))
	}
	// container:ID shares aa's namespace (and address); --mac-address.
	if out := e.ok("run", "--rm", "--network", "container:aa", "busybox", "wget", "-qO-", "http://127.0.0.1/"); out != "served-by-"+a[:12]+"\n" {
		t.Fatalf("--network container:aa: %q", out)
	}
	if out := e.ok("run", "--rm", "--network", "one", "--mac-address", "02:11:22:33:44:55", "busybox", "cat", "/sys/class/net/eth0/address"); out != "02:11:22:33:44:55\n" {
		t.Fatalf("--mac-address: %q", out)
	}
	if r := e.run("network", "rm", "one"); r.code == 0 || !strings.Contains(r.err, "active endpoints") {
		t.Fatalf("network rm of a used network: %+v", r)
	}
	e.ok("rm", "-f", a)
}

func TestNetworkConnect(t *testing.T) {
	e := netEnv(t)
	e.ok("network", "create", "front")
	e.ok("network", "create", "back")
	e.ok("run", "-d", "--name", "db", "--network", "back", "busybox", "sh", "-c", httpdCmd)
	e.ok("run", "-d", "--name", "app", "--network", "front", "busybox", "sleep", "1000")
	if r := e.run("exec", "app", "sh", "-c", "timeout 3 wget -qO- http://db/"); r.code == 0 {
		t.Fatalf("app reached db before connect: %+v", r)
	}
	// A running container gets an interface on the new network at once.
	e.ok("network", "connect", "--alias", "cache", "back", "app")
	if out := e.ok("exec", "app", "sh", "-c", "timeout 3 wget -qO- http://db/"); !strings.HasPrefix(out, "served-by-") {
		t.Fatalf("app after connect: %q", out)
	}
	if out := e.ok("run", "--rm", "--network", "back", "busybox", "sh", "-c", "ping -c 1 -W 2 cache >/dev/null && echo ok"); out != "ok\n" {
		t.Fatalf("the connected container's alias: %q", out)
	}
	if r := e.run("network", "connect", "back", "app"); r.code == 0 || !strings.Contains(r.err, "already exists") {
		t.Fatalf("second connect: %+v", r)
	}
	e.ok("network", "disconnect", "back", "app")
	if r := e.run("exec", "app", "sh", "-c", "timeout 3 wget -qO- http://db/"); r.code == 0 {
		t.Fatalf("app reached db after disconnect: %+v", r)
	}
	// Kept across a restart.
	e.ok("network", "connect", "back", "app")
	e.ok("restart", "-t", "1", "app")
	if out := e.ok("exec", "app", "sh", "-c", "timeout 3 wget -qO- http://db/"); !strings.HasPrefix(out, "served-by-") {
		t.Fatalf("app after restart: %q", out)
	}
	e.ok("rm", "-f", "app", "db")
}

func TestSystemPruneReconciles(t *testing.T) {
	e := netEnv(t)
	e.ok("network", "create", "gone")
	id := strings.TrimSpace(e.ok("run", "-d", "--network", "gone", "-p", "127.0.0.1:18090:80", "busybox", "sleep", "1000"))
	var st struct{ MonitorPid, Pid int }
	data, _ := os.ReadFile(filepath.Join(e.root, "containers", id, "state.json"))
	if err := json.Unmarshal(data, &st); err != nil || st.MonitorPid == 0 {
		t.Fatalf("state: %s", data)
	}
	// The monitor and the container die without cleaning up.
	syscall.Kill(st.MonitorPid, syscall.SIGKILL)
	syscall.Kill(st.Pid, syscall.SIGKILL)
	waitFor(t, func() bool { return syscall.Kill(st.Pid, 0) != nil })
	if out := e.ok("system", "prune", "-f"); !strings.Contains(out, id) || !strings.Contains(out, "Deleted Networks:\ngone") {
		t.Fatalf("system prune: %q", out)
	}
	if out, _ := exec.Command("nft", "list", "table", "ip", "berth").CombinedOutput(); strings.Contains(string(out), id) {
		t.Fatalf("rules of the dead container left:\n%s", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.runRoot, "netns")); len(ents) > 0 {
		t.Fatalf("namespaces left: %v", ents)
	}
}

func TestConcurrentAddresses(t *testing.T) {
	e := netEnv(t)
	e.ok("network", "create", "many")
	const n = 30
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.command("create", "--network", "many", "busybox", "true").Output()
			ids[i], errs[i] = strings.TrimSpace(string(out)), err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("create %d: %v", i, errs[i])
		}
		ip := strings.TrimSpace(e.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", ids[i]))
		if ip == "" || seen[ip] {
			t.Fatalf("container %d got address %q (seen before: %v)", i, ip, seen[ip])
		}
		seen[ip] = true
	}
	e.ok(append([]string{"rm", "-f"}, ids...)...)
	// Released: a new container gets one of the pool again.
	e.ok("run", "--rm", "--network", "many", "busybox", "true")
}
