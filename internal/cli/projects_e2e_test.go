package cli

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// shellWords splits a command line the way a POSIX shell would for the
// quoting create-project prints: bare words, '…' and "…" (with \ escapes).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				} else if strings.IndexByte("$`", line[i]) >= 0 {
					t.Fatalf("expansion inside \"…\" in %q", line)
				}
				cur.WriteByte(line[i])
			}
			if i == len(line) {
				t.Fatalf("unterminated \" in %q", line)
			}
			inWord = true
		case strings.IndexByte("\\$`|&;<>(){}*?[]~#!", c) >= 0:
			t.Fatalf("shell metacharacter %q outside quotes in %q", c, line)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// curlRequest turns a printed curl command into the request curl would
// send: -X method, -H headers, -d body (POST unless -X says otherwise)
// and the URL. Any other option fails the test, so the parse is exact.
func curlRequest(t *testing.T, line string) *http.Request {
	t.Helper()
	w := shellWords(t, line)
	if len(w) == 0 || w[0] != "curl" {
		t.Fatalf("not a curl command: %q", line)
	}
	method, url := "", ""
	var body []byte
	hdr := http.Header{}
	for i := 1; i < len(w); i++ {
		arg := func() string {
			if i+1 >= len(w) {
				t.Fatalf("%s needs a value in %q", w[i], line)
			}
			i++
			return w[i]
		}
		switch {
		case w[i] == "-X":
			method = arg()
		case w[i] == "-H":
			k, v, ok := strings.Cut(arg(), ":")
			if !ok {
				t.Fatalf("bad header in %q", line)
			}
			hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case w[i] == "-d":
			body = []byte(arg())
		case strings.HasPrefix(w[i], "-"):
			t.Fatalf("option %s not understood in %q", w[i], line)
		default:
			if url != "" {
				t.Fatalf("two URLs in %q", line)
			}
			url = w[i]
		}
	}
	if method == "" {
		method = "GET"
		if body != nil {
			method = "POST"
		}
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	return req
}

func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// withToken sends method to url with a bearer token, if tok is set.
func withToken(t *testing.T, method, url, tok, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(t, req)
}

// TestProjectsEndToEnd is acceptance point 2 of the projects issue: with
// dsctl serve running, create-project's curl example works verbatim, a
// read-scope token gets 403 on POST, and key rotation takes effect on the
// running server: tokens of both keys work after keys add, and the removed
// key's tokens fail after keys remove. The server is never restarted.
func TestProjectsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dir := t.TempDir()
	srv := startServe(t, "--data-dir", dir)
	stream := srv.url + "/v1/demo/stream/hello"

	created := decodeJSON[createProjectResult](t,
		runCLI(t, false, "", "create-project", "demo", "--json", "--data-dir", dir, "--url", srv.url).must(t).out)
	if len(created.Curl) != 3 {
		t.Fatalf("curl example: %q", created.Curl)
	}

	// The curl example, sent with net/http exactly as printed.
	wantStatus := []int{http.StatusCreated, http.StatusNoContent, http.StatusOK}
	var got string
	for i, line := range created.Curl {
		req := curlRequest(t, line)
		if req.URL.String() != stream {
			t.Fatalf("curl line %d addresses %s, want %s", i, req.URL, stream)
		}
		status, body := send(t, req)
		if status != wantStatus[i] {
			t.Fatalf("%s\n→ %d %s, want %d", line, status, body, wantStatus[i])
		}
		got = body
	}
	if got != `[{"hello":"world"}]` {
		t.Fatalf("read back %s", got)
	}
	messages := 1

	// And with the real curl through a shell, when there is one.
	t.Run("real curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("no curl on PATH")
		}
		if _, err := exec.LookPath("sh"); err != nil {
			t.Skip("no sh on PATH")
		}
		var outs []string
		for _, line := range created.Curl {
			out, err := exec.Command("sh", "-c", line+" 2>/dev/null").Output()
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			outs = append(outs, string(out))
		}
		// PUT (now 200, the stream exists) and POST answer with no body;
		// errors would carry a JSON body.
		if outs[0] != "" || outs[1] != "" {
			t.Fatalf("PUT/POST printed %q %q", outs[0], outs[1])
		}
		messages++
		want := "[" + strings.TrimSuffix(strings.Repeat(`{"hello":"world"},`, messages), ",") + "]"
		if outs[2] != want {
			t.Fatalf("GET printed %s, want %s", outs[2], want)
		}
	})

	// A read-scope token may read but not write.
	readTok := strings.TrimSpace(runCLI(t, false, "", "token", "--project", "demo", "--scope", "read", "--data-dir", dir).must(t).out)
	if status, body := withToken(t, "POST", stream, readTok, `{"n":1}`); status != http.StatusForbidden {
		t.Fatalf("POST with a read token: %d %s, want 403", status, body)
	}
	if status, body := withToken(t, "GET", stream, readTok, ""); status != http.StatusOK {
		t.Fatalf("GET with a read token: %d %s, want 200", status, body)
	}

	// Rotation, step 1: add a key. New tokens are signed with it, and
	// tokens of both keys work.
	oldTok, oldID := created.Token, created.KeyID
	added := decodeJSON[keyAddResult](t, runCLI(t, false, "", "project", "keys", "add", "demo", "--json", "--data-dir", dir).must(t).out)
	minted := decodeJSON[tokenResult](t, runCLI(t, false, "", "token", "--project", "demo", "--json", "--data-dir", dir).must(t).out)
	if minted.KeyID != added.KeyID || added.KeyID == oldID {
		t.Fatalf("new token signed with key %s; added %s, old %s", minted.KeyID, added.KeyID, oldID)
	}
	newTok := minted.Token
	for name, tok := range map[string]string{"old key": oldTok, "new key": newTok} {
		if status, body := withToken(t, "POST", stream, tok, `{"n":2}`); status != http.StatusNoContent {
			t.Fatalf("POST with the %s's token after keys add: %d %s, want 204", name, status, body)
		}
	}

	// Step 2: remove the old key. Its tokens fail at once; the new key's work.
	runCLI(t, false, "", "project", "keys", "remove", "demo", oldID, "--data-dir", dir).must(t)
	for _, tc := range []struct {
		name, method, tok, body string
		want                    int
	}{
		{"old write token, POST", "POST", oldTok, `{"n":3}`, http.StatusUnauthorized},
		{"old write token, GET", "GET", oldTok, "", http.StatusUnauthorized},
		{"old read token, GET", "GET", readTok, "", http.StatusUnauthorized},
		{"new token, POST", "POST", newTok, `{"n":3}`, http.StatusNoContent},
		{"new token, GET", "GET", newTok, "", http.StatusOK},
	} {
		if status, body := withToken(t, tc.method, stream, tc.tok, tc.body); status != tc.want {
			t.Fatalf("after keys remove, %s: %d %s, want %d", tc.name, status, body, tc.want)
		}
	}
	// The last key stays.
	runCLI(t, false, "", "project", "keys", "remove", "demo", added.KeyID, "--data-dir", dir).
		wantError(t, ExitError, "only key", "dsctl project keys add demo")

	// CORS origins apply from the next request too.
	origin := func() string {
		req, _ := http.NewRequest("GET", stream, nil)
		req.Header.Set("Authorization", "Bearer "+newTok)
		req.Header.Set("Origin", "https://app.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	if got := origin(); got != "" {
		t.Fatalf("ACAO %q before cors add", got)
	}
	runCLI(t, false, "", "project", "cors", "add", "demo", "https://app.example", "--data-dir", dir).must(t)
	if got := origin(); got != "https://app.example" {
		t.Fatalf("ACAO %q after cors add", got)
	}
	runCLI(t, false, "", "project", "cors", "remove", "demo", "https://app.example", "--data-dir", dir).must(t)
	if got := origin(); got != "" {
		t.Fatalf("ACAO %q after cors remove", got)
	}

	// Delete: refused while the stream exists, then done once it is gone.
	runCLI(t, false, "", "project", "delete", "demo", "--yes", "--data-dir", dir).
		wantError(t, ExitError, "project demo still has 1 stream(s)", "")
	if status, body := withToken(t, "DELETE", stream, newTok, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE stream: %d %s", status, body)
	}
	runCLI(t, false, "", "project", "delete", "demo", "--yes", "--data-dir", dir).must(t)
	if status, body := withToken(t, "GET", stream, newTok, ""); status != http.StatusUnauthorized || !strings.Contains(body, "unknown project") {
		t.Fatalf("GET after project delete: %d %s, want 401 unknown project", status, body)
	}

	if err := srv.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server did not keep running: %v", err)
	}
}

// TestServeAuthDefaultProject checks `dsctl serve --auth` closes the
// default project and `dsctl token --project default` then mints working
// tokens from the key the server created.
func TestServeAuthDefaultProject(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dir := t.TempDir()
	srv := startServe(t, "--data-dir", dir, "--auth")
	stream := srv.url + "/v1/stream/locked"
	if status, body := withToken(t, "PUT", stream, "", ""); status != http.StatusUnauthorized {
		t.Fatalf("PUT without a token: %d %s, want 401", status, body)
	}
	tok := strings.TrimSpace(runCLI(t, false, "", "token", "--project", "default", "--data-dir", dir).must(t).out)
	if status, body := withToken(t, "PUT", stream, tok, ""); status != http.StatusCreated {
		t.Fatalf("PUT with a default-project token: %d %s, want 201", status, body)
	}
}
