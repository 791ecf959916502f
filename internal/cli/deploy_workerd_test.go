package cli

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/dsctl/dsctl/internal/deploy/cffake"
)

// TestScaffoldedWorkersUnderWorkerd runs the ./workers folder that
// `dsctl setup` scaffolds (against the fake Cloudflare API) under workerd
// with the pinned wrangler, seeds local KV with the registry entry that
// `dsctl create-project --remote` wrote to the fake, and checks that the
// core worker accepts a token `dsctl token --remote` mints for it, and
// that the --remote client commands work against both workers.
//
// It needs DSCTL_WRANGLER, the wrangler binary of testdata/workers
// (scripts/deploy-workerd.sh, run by make test when node is present).
func TestScaffoldedWorkersUnderWorkerd(t *testing.T) {
	wrangler := os.Getenv("DSCTL_WRANGLER")
	if wrangler == "" {
		t.Skip("DSCTL_WRANGLER is not set (scripts/deploy-workerd.sh sets it)")
	}
	fake, dir := cfEnv(t)
	sum := decodeJSON[setupSummary](t, runCLI(t, false, "", "setup", "--yes", "--json").must(t).out)
	proj := decodeJSON[createProjectResult](t, runCLI(t, false, "", "create-project", "demo", "--remote", "--json").must(t).out)
	entry, ok := fake.KV(cffake.DefaultAccountID, sum.KVNamespace.ID, "demo")
	if !ok {
		t.Fatal("demo is not in the fake KV")
	}
	tok := strings.TrimSpace(runCLI(t, false, "", "token", "--remote", "--project", "demo").must(t).out)

	env := append(os.Environ(), "WRANGLER_SEND_METRICS=false", "WRANGLER_SEND_ERROR_REPORTS=false", "CI=1", "NO_COLOR=1",
		"CLOUDFLARE_CF_FETCH_ENABLED=false", "WRANGLER_UPDATE_CHECK=false",
		"WRANGLER_LOG_PATH="+filepath.Join(dir, ".wrangler-logs"), "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"),
		// The two dev servers find each other (the CORE service binding)
		// through this registry.
		"WRANGLER_REGISTRY_PATH="+filepath.Join(dir, ".wrangler-registry"),
		// wrangler must not mistake the fake for the real API.
		"CLOUDFLARE_API_TOKEN=", "CLOUDFLARE_API_BASE_URL=")
	// Each worker from its scaffolded folder, its local KV seeded with the
	// exact bytes create-project --remote stored.
	base := startScaffolded(t, wrangler, env, filepath.Join(dir, "workers", "core"), string(entry))
	pubsub := startScaffolded(t, wrangler, env, filepath.Join(dir, "workers", "subscription"), string(entry))
	t.Logf("wrangler dev: core %s, subscription %s (from ./workers)", base, pubsub)

	stream := base + "/v1/demo/stream/hello"
	call := func(method, url, tok, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if body != "" || method == http.MethodPut {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, step := range []struct {
		method, url, tok, body string
		status                 int
		want                   string
	}{
		{http.MethodPut, stream, tok, "", http.StatusCreated, ""},
		{http.MethodPost, stream, tok, `{"hello":"world"}`, http.StatusNoContent, ""},
		{http.MethodGet, stream + "?offset=-1", tok, "", http.StatusOK, `[{"hello":"world"}]`},
		{http.MethodGet, stream + "?offset=-1", proj.Token, "", http.StatusOK, `[{"hello":"world"}]`},
		// Wrong key, no token, and the default project (AUTH_DEFAULT=1 in
		// the scaffolded config) are all refused.
		{http.MethodGet, stream + "?offset=-1", mintWith(t, "demo", strings.Repeat("x", 32)), "", http.StatusUnauthorized, ""},
		{http.MethodGet, stream + "?offset=-1", "", "", http.StatusUnauthorized, ""},
		{http.MethodPut, base + "/v1/stream/open", "", "", http.StatusUnauthorized, ""},
	} {
		status, body := call(step.method, step.url, step.tok, step.body)
		if status != step.status || (step.want != "" && strings.TrimSpace(body) != step.want) {
			t.Fatalf("%s %s: %d %q, want %d %q", step.method, step.url, status, body, step.status, step.want)
		}
	}

	// The client commands with --remote, pointed at this worker: each
	// mints its token from the fake's registry entry.
	var pf projectFile
	if _, err := toml.DecodeFile(ProjectFileName, &pf); err != nil {
		t.Fatal(err)
	}
	pf.Cloudflare.CoreURL, pf.Cloudflare.SubscriptionURL = base, pubsub
	if err := saveDeployState(ProjectFileName, pf.Cloudflare); err != nil {
		t.Fatal(err)
	}
	runCLI(t, false, "", "stream", "append", "hello", "--remote", "--project", "demo", "--data", `{"from":"dsctl"}`).must(t)
	out := runCLI(t, false, "", "stream", "read", "hello", "--remote", "--project", "demo").must(t).out
	if !strings.Contains(out, `{"hello":"world"}`) || !strings.Contains(out, `{"from":"dsctl"}`) {
		t.Fatalf("stream read --remote: %q", out)
	}
	list := runCLI(t, false, "", "stream", "list", "--remote", "--project", "demo").must(t).out
	if !strings.Contains(list, "hello") {
		t.Fatalf("stream list --remote: %q", list)
	}
	// Pub/sub goes to the subscription worker, which writes the session
	// stream through core.
	runCLI(t, false, "", "subscribe", "hello", "alice", "--remote", "--project", "demo").must(t)
	pub := runCLI(t, false, "", "publish", "hello", "--remote", "--project", "demo", "--data", `{"to":"subscribers"}`, "--json").must(t).out
	if !strings.Contains(pub, `"fanoutCount": 1`) {
		t.Fatalf("publish --remote: %s", pub)
	}
	out = runCLI(t, false, "", "stream", "read", "session:alice", "--remote", "--project", "demo").must(t).out
	if !strings.Contains(out, `{"to":"subscribers"}`) {
		t.Fatalf("session stream: %q", out)
	}
}

// startScaffolded runs `wrangler dev --local` in a scaffolded worker
// folder, with its registry seeded with the demo entry, and returns its
// URL once /health answers.
func startScaffolded(t *testing.T, wrangler string, env []string, dir, entry string) string {
	t.Helper()
	state := dir + ".state"
	put := exec.Command(wrangler, "kv", "key", "put", "--local", "--binding", "REGISTRY", "--persist-to", state, "demo", entry)
	put.Dir, put.Env = dir, env
	if out, err := put.CombinedOutput(); err != nil {
		t.Fatalf("wrangler kv key put in %s: %v\n%s", dir, err, out)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var logBuf bytes.Buffer
	dev := exec.Command(wrangler, "dev", "--local", "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
		"--inspector-port", "0", "--persist-to", state, "--show-interactive-dev-session=false")
	dev.Dir, dev.Env = dir, env
	dev.Stdout, dev.Stderr = &logBuf, &logBuf
	// wrangler runs workerd as a child: its own process group, so the
	// cleanup stops both.
	dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-dev.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = dev.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("wrangler dev in %s:\n%s", dir, logBuf.String())
		}
	})
	deadline := time.Now().Add(120 * time.Second)
	for {
		res, err := http.Get(base + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scaffolded worker in %s did not answer /health within 120s", dir)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func mintWith(t *testing.T, project, secret string) string {
	t.Helper()
	r := runCLI(t, false, "", "token", "--project", project, "--secret", secret).must(t)
	return strings.TrimSpace(r.out)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
