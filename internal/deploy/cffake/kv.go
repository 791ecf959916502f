package cffake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

type namespace struct {
	id, title string
	values    map[string]kvValue
}

type kvValue struct {
	data     []byte
	metadata json.RawMessage // nil when none was given
}

func (n *namespace) json() map[string]any {
	return map[string]any{"id": n.id, "title": n.title, "supports_url_encoding": true}
}

func (a *account) namespace(id string) *namespace {
	for _, n := range a.namespaces {
		if n.id == id {
			return n
		}
	}
	return nil
}

func (a *account) namespaceTitled(title string) *namespace {
	for _, n := range a.namespaces {
		if n.title == title {
			return n
		}
	}
	return nil
}

func (s *Server) addNamespace(a *account, title string) *namespace {
	s.seq++
	n := &namespace{id: hexID("kv", a.ID, title, strconv.Itoa(s.seq)), title: title, values: map[string]kvValue{}}
	a.namespaces = append(a.namespaces, n)
	return n
}

func (s *Server) listNamespaces(c *call) {
	list := slices.Clone(c.acct.namespaces)
	q := c.r.URL.Query()
	switch q.Get("order") {
	case "id":
		slices.SortStableFunc(list, func(a, b *namespace) int { return strings.Compare(a.id, b.id) })
	case "title":
		slices.SortStableFunc(list, func(a, b *namespace) int { return strings.Compare(a.title, b.title) })
	}
	if q.Get("direction") == "desc" {
		slices.Reverse(list)
	}
	lo, hi, info := c.paginate(len(list), 20, 100)
	out := []map[string]any{}
	for _, n := range list[lo:hi] {
		out = append(out, n.json())
	}
	c.list(out, info)
}

func (s *Server) createNamespace(c *call) {
	var in struct {
		Title string `json:"title"`
	}
	if !c.decode(&in) {
		return
	}
	if c.acct.namespaceTitled(in.Title) != nil {
		c.fail(http.StatusBadRequest, 10014, "a namespace with this account ID and title already exists")
		return
	}
	c.ok(s.addNamespace(c.acct, in.Title).json())
}

// ns finds the namespace the path names, answering 404 itself when missing.
func (c *call) ns() *namespace {
	n := c.acct.namespace(c.p["ns"])
	if n == nil {
		c.fail(http.StatusNotFound, 10013, "namespace not found")
	}
	return n
}

func (s *Server) getNamespace(c *call) {
	if n := c.ns(); n != nil {
		c.ok(n.json())
	}
}

func (s *Server) deleteNamespace(c *call) {
	n := c.ns()
	if n == nil {
		return
	}
	c.acct.namespaces = slices.DeleteFunc(c.acct.namespaces, func(x *namespace) bool { return x == n })
	c.ok(map[string]any{})
}

func (s *Server) getValue(c *call) {
	n := c.ns()
	if n == nil {
		return
	}
	v, ok := n.values[c.p["key"]]
	if !ok {
		c.fail(http.StatusNotFound, 10009, "get: 'key not found'")
		return
	}
	c.raw("application/octet-stream", v.data)
}

// putValue takes the value either as the raw body or, as the SDK sends it,
// as a multipart form with a "value" part and an optional "metadata" part.
func (s *Server) putValue(c *call) {
	n := c.ns()
	if n == nil {
		return
	}
	v := kvValue{data: c.body}
	mt, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		var ok bool
		if v, ok = readValueForm(c.body, params["boundary"]); !ok {
			c.fail(http.StatusBadRequest, 10021, "a multipart value upload needs a \"value\" part")
			return
		}
	}
	n.values[c.p["key"]] = v
	c.ok(map[string]any{})
}

func readValueForm(body []byte, boundary string) (kvValue, bool) {
	var v kvValue
	found := false
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return v, found && err == io.EOF
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return v, false
		}
		switch p.FormName() {
		case "value":
			v.data, found = data, true
		case "metadata":
			if json.Valid(data) {
				v.metadata = data
			}
		}
	}
}

func (s *Server) deleteValue(c *call) {
	if n := c.ns(); n != nil {
		delete(n.values, c.p["key"])
		c.ok(map[string]any{})
	}
}

// listKeys pages through key names in byte order; the cursor is the last
// name returned, opaque to clients as the real one is.
func (s *Server) listKeys(c *call) {
	n := c.ns()
	if n == nil {
		return
	}
	q := c.r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil {
		limit = 1000
	}
	limit = min(max(limit, 10), 1000)
	after := ""
	if cur := q.Get("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil {
			c.fail(http.StatusBadRequest, 10059, "invalid cursor")
			return
		}
		after = string(b)
	}
	var names []string
	for k := range n.values {
		if strings.HasPrefix(k, q.Get("prefix")) && (after == "" || k > after) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	cursor := ""
	if len(names) > limit {
		names = names[:limit]
		cursor = base64.RawURLEncoding.EncodeToString([]byte(names[limit-1]))
	}
	out := []map[string]any{}
	for _, k := range names {
		item := map[string]any{"name": k}
		if md := n.values[k].metadata; md != nil {
			item["metadata"] = md
		}
		out = append(out, item)
	}
	c.list(out, map[string]any{"count": len(out), "cursor": cursor})
}
