// Package client is dsctl's HTTP client for the Durable Streams protocol,
// the pub/sub API and the inspection API. The CLI and the TUI talk to
// servers (local or deployed) only through it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultProject is the project of the bare /v1/stream/<id> layout.
const DefaultProject = "default"

// Client talks to one server as one project.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:4437
	// PubSubURL, when set, serves subscribe/publish/session requests (a
	// deployment's subscription worker); empty: BaseURL serves them too.
	PubSubURL string
	Project   string // "" or "default": the default project
	Token     string // bearer token; "" sends none
	HTTP      *http.Client
}

// New returns a client; httpClient may be nil.
func New(baseURL, project, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Project: project, Token: token, HTTP: &http.Client{}}
}

func (c *Client) project() string {
	if c.Project == "" {
		return DefaultProject
	}
	return c.Project
}

// StreamPath is the URL path of a stream.
func (c *Client) StreamPath(id string) string {
	if c.project() == DefaultProject {
		return "/v1/stream/" + escapeID(id)
	}
	return "/v1/" + c.project() + "/stream/" + escapeID(id)
}

// escapeID escapes each segment of a stream id ('/' separates them).
func escapeID(id string) string {
	parts := strings.Split(id, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// APIError is a non-2xx answer.
type APIError struct {
	Status  int
	Code    string
	Message string
	// NextOffset and Closed carry the protocol headers of a 409 on a
	// closed stream.
	NextOffset string
	Closed     bool
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// IsStatus reports whether err is an APIError with that status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// IsAuth reports whether err is an authentication or authorisation
// failure (401 or 403).
func IsAuth(err error) bool {
	return IsStatus(err, http.StatusUnauthorized) || IsStatus(err, http.StatusForbidden)
}

func (c *Client) newRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		u = c.BaseURL + path // paths start with "/"; pubsubPath may give a full URL
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// do sends req and turns non-2xx answers into *APIError.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	defer resp.Body.Close()
	ae := &APIError{Status: resp.StatusCode, NextOffset: resp.Header.Get("Stream-Next-Offset"),
		Closed: resp.Header.Get("Stream-Closed") == "true"}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error.Message != "" {
		ae.Code, ae.Message = body.Error.Code, body.Error.Message
	} else {
		ae.Message = strings.TrimSpace(string(raw))
	}
	return nil, ae
}

// StreamInfo is what HEAD (or PUT) says about a stream.
type StreamInfo struct {
	ContentType string
	NextOffset  string
	Closed      bool
	TTLSeconds  *int64
	ExpiresAt   *time.Time
}

func infoFrom(h http.Header) *StreamInfo {
	in := &StreamInfo{ContentType: h.Get("Content-Type"), NextOffset: h.Get("Stream-Next-Offset"), Closed: h.Get("Stream-Closed") == "true"}
	if v := h.Get("Stream-TTL"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			in.TTLSeconds = &n
		}
	}
	if v := h.Get("Stream-Expires-At"); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			in.ExpiresAt = &t
		}
	}
	return in
}

// CreateOptions configure a PUT.
type CreateOptions struct {
	ContentType string // default application/octet-stream (server side)
	TTL         time.Duration
	ExpiresAt   time.Time
	Public      bool
	Closed      bool
	ForkFrom    string // a stream id of the same project
	ForkOffset  string
	Body        []byte
}

// Create creates a stream; created is false when it already existed with
// the same configuration.
func (c *Client) Create(ctx context.Context, id string, o CreateOptions) (info *StreamInfo, created bool, err error) {
	path := c.StreamPath(id)
	if o.Public {
		path += "?public=true"
	}
	req, err := c.newRequest(ctx, http.MethodPut, path, o.Body)
	if err != nil {
		return nil, false, err
	}
	if o.ContentType != "" {
		req.Header.Set("Content-Type", o.ContentType)
	}
	if o.TTL > 0 {
		req.Header.Set("Stream-TTL", strconv.FormatInt(int64(o.TTL/time.Second), 10))
	}
	if !o.ExpiresAt.IsZero() {
		req.Header.Set("Stream-Expires-At", o.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if o.Closed {
		req.Header.Set("Stream-Closed", "true")
	}
	if o.ForkFrom != "" {
		req.Header.Set("Stream-Forked-From", c.StreamPath(o.ForkFrom))
		if o.ForkOffset != "" {
			req.Header.Set("Stream-Fork-Offset", o.ForkOffset)
		}
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, false, err
	}
	resp.Body.Close()
	return infoFrom(resp.Header), resp.StatusCode == http.StatusCreated, nil
}

// Producer identifies an idempotent producer write.
type Producer struct {
	ID         string
	Epoch, Seq int64
}

// AppendOptions configure a POST.
type AppendOptions struct {
	Close     bool
	StreamSeq string
	Producer  *Producer
}

// AppendResult is a POST's answer.
type AppendResult struct {
	NextOffset string
	Closed     bool
	// Duplicate is set when the server recognised a retried producer write.
	Duplicate bool
	// FanoutCount is set by Publish.
	FanoutCount int
}

func (c *Client) post(ctx context.Context, path, contentType string, body []byte, o AppendOptions) (*http.Response, error) {
	req, err := c.newRequest(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" && len(body) > 0 {
		req.Header.Set("Content-Type", contentType)
	}
	if o.Close {
		req.Header.Set("Stream-Closed", "true")
	}
	if o.StreamSeq != "" {
		req.Header.Set("Stream-Seq", o.StreamSeq)
	}
	if p := o.Producer; p != nil {
		req.Header.Set("Producer-Id", p.ID)
		req.Header.Set("Producer-Epoch", strconv.FormatInt(p.Epoch, 10))
		req.Header.Set("Producer-Seq", strconv.FormatInt(p.Seq, 10))
	}
	return c.do(req)
}

// appendResult reads a POST's answer. A producer write carrying data is
// answered 200 when appended and 204 when it was a duplicate.
func appendResult(resp *http.Response, o AppendOptions, hasBody bool) *AppendResult {
	resp.Body.Close()
	r := &AppendResult{NextOffset: resp.Header.Get("Stream-Next-Offset"), Closed: resp.Header.Get("Stream-Closed") == "true"}
	r.Duplicate = o.Producer != nil && hasBody && resp.StatusCode == http.StatusNoContent
	if n, err := strconv.Atoi(resp.Header.Get("Stream-Fanout-Count")); err == nil {
		r.FanoutCount = n
	}
	return r
}

// Append appends body (and/or closes the stream with o.Close).
func (c *Client) Append(ctx context.Context, id, contentType string, body []byte, o AppendOptions) (*AppendResult, error) {
	resp, err := c.post(ctx, c.StreamPath(id), contentType, body, o)
	if err != nil {
		return nil, err
	}
	return appendResult(resp, o, len(body) > 0), nil
}

// Head returns a stream's metadata.
func (c *Client) Head(ctx context.Context, id string) (*StreamInfo, error) {
	req, err := c.newRequest(ctx, http.MethodHead, c.StreamPath(id), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, c.headReason(ctx, id, err)
	}
	resp.Body.Close()
	return infoFrom(resp.Header), nil
}

// headReason fills in why a HEAD was refused: a HEAD answer has no body,
// so a 401/403 says nothing beyond its status. The same request as a GET
// at offset=now (no data, no waiting) carries the server's JSON error.
func (c *Client) headReason(ctx context.Context, id string, err error) error {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "" || (ae.Status != http.StatusUnauthorized && ae.Status != http.StatusForbidden) {
		return err
	}
	req, rerr := c.newRequest(ctx, http.MethodGet, c.StreamPath(id)+"?offset=now", nil)
	if rerr != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, gerr := c.do(req)
	if gerr == nil {
		resp.Body.Close()
		return err
	}
	var ge *APIError
	if errors.As(gerr, &ge) && ge.Status == ae.Status && ge.Message != "" {
		return ge
	}
	return err
}

// Delete deletes a stream.
func (c *Client) Delete(ctx context.Context, id string) error {
	req, err := c.newRequest(ctx, http.MethodDelete, c.StreamPath(id), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
