package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The pub/sub and inspection APIs.

func (c *Client) projectPath(rest string) string { return "/v1/" + c.project() + "/" + rest }

// pubsubPath is projectPath on the pub/sub server: PubSubURL when set (a
// deployment runs pub/sub as its own worker), else BaseURL.
func (c *Client) pubsubPath(rest string) string {
	if c.PubSubURL != "" {
		return c.PubSubURL + c.projectPath(rest)
	}
	return c.projectPath(rest)
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

// Session is a pub/sub session.
type Session struct {
	SessionID         string         `json:"sessionId"`
	StreamID          string         `json:"streamId,omitempty"`
	SessionStreamPath string         `json:"sessionStreamPath"`
	ExpiresAt         time.Time      `json:"expiresAt"`
	IsNewSession      bool           `json:"isNewSession,omitempty"`
	Subscriptions     []Subscription `json:"subscriptions,omitempty"`
}

// Subscription is one subscription of a session.
type Subscription struct {
	StreamID     string    `json:"streamId"`
	SubscribedAt time.Time `json:"subscribedAt"`
}

// SessionStreamID is the stream id a session's messages arrive in.
func SessionStreamID(sessionID string) string { return "session:" + sessionID }

type subBody struct {
	StreamID  string `json:"streamId"`
	SessionID string `json:"sessionId"`
}

// Subscribe subscribes a session to a stream, creating the session.
func (c *Client) Subscribe(ctx context.Context, streamID, sessionID string) (*Session, error) {
	var s Session
	err := c.doJSON(ctx, http.MethodPost, c.pubsubPath("subscribe"), subBody{streamID, sessionID}, &s)
	return &s, err
}

// Unsubscribe removes a subscription; it reports whether there was one.
func (c *Client) Unsubscribe(ctx context.Context, streamID, sessionID string) (bool, error) {
	var out struct {
		Unsubscribed bool `json:"unsubscribed"`
	}
	err := c.doJSON(ctx, http.MethodDelete, c.pubsubPath("unsubscribe"), subBody{streamID, sessionID}, &out)
	return out.Unsubscribed, err
}

// GetSession returns a session and its subscriptions.
func (c *Client) GetSession(ctx context.Context, sessionID string) (*Session, error) {
	var s Session
	err := c.doJSON(ctx, http.MethodGet, c.pubsubPath("session/"+url.PathEscape(sessionID)), nil, &s)
	return &s, err
}

// TouchSession extends a session's life (creating it if unknown).
func (c *Client) TouchSession(ctx context.Context, sessionID string) (*Session, error) {
	var s Session
	err := c.doJSON(ctx, http.MethodPost, c.pubsubPath("session/"+url.PathEscape(sessionID)+"/touch"), nil, &s)
	return &s, err
}

// DeleteSession deletes a session; it reports whether there was one.
func (c *Client) DeleteSession(ctx context.Context, sessionID string) (bool, error) {
	var out struct {
		Deleted bool `json:"deleted"`
	}
	err := c.doJSON(ctx, http.MethodDelete, c.pubsubPath("session/"+url.PathEscape(sessionID)), nil, &out)
	return out.Deleted, err
}

// Publish appends to a stream and fans the message out to its subscribers.
func (c *Client) Publish(ctx context.Context, streamID, contentType string, body []byte, o AppendOptions) (*AppendResult, error) {
	resp, err := c.post(ctx, c.pubsubPath("publish/"+escapeID(streamID)), contentType, body, o)
	if err != nil {
		return nil, err
	}
	return appendResult(resp, o, len(body) > 0), nil
}

// StreamSummary is a stream in the inspection API.
type StreamSummary struct {
	ID          string     `json:"id"`
	Path        string     `json:"path"`
	ContentType string     `json:"contentType"`
	SizeBytes   int64      `json:"sizeBytes"`
	Messages    int64      `json:"messages"`
	TailOffset  string     `json:"tailOffset"`
	Closed      bool       `json:"closed"`
	Public      bool       `json:"public"`
	TTLSeconds  *int64     `json:"ttlSeconds,omitempty"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastWriteAt time.Time  `json:"lastWriteAt"`
	Readers     int64      `json:"readers"`
}

// StreamDetail adds producers and fork relations.
type StreamDetail struct {
	StreamSummary
	Producers []struct {
		ID         string    `json:"id"`
		Epoch      int64     `json:"epoch"`
		LastSeq    int64     `json:"lastSeq"`
		LastOffset string    `json:"lastOffset"`
		UpdatedAt  time.Time `json:"updatedAt"`
	} `json:"producers"`
	ForkedFrom *struct {
		Path   string `json:"path"`
		Offset string `json:"offset"`
	} `json:"forkedFrom,omitempty"`
	Forks int64 `json:"forks"`
}

// StreamPage is a page of ListStreams.
type StreamPage struct {
	Streams []StreamSummary `json:"streams"`
	Next    string          `json:"next,omitempty"`
}

// ListStreams returns a page of the project's streams after the id after.
func (c *Client) ListStreams(ctx context.Context, after string, limit int) (*StreamPage, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := c.projectPath("streams")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var p StreamPage
	err := c.doJSON(ctx, http.MethodGet, path, nil, &p)
	return &p, err
}

// AllStreams follows ListStreams' pages.
func (c *Client) AllStreams(ctx context.Context) ([]StreamSummary, error) {
	var all []StreamSummary
	after := ""
	for {
		p, err := c.ListStreams(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Streams...)
		if p.Next == "" {
			return all, nil
		}
		after = p.Next
	}
}

// InspectStream returns a stream's detail.
func (c *Client) InspectStream(ctx context.Context, id string) (*StreamDetail, error) {
	var d StreamDetail
	err := c.doJSON(ctx, http.MethodGet, c.projectPath("streams/"+escapeID(id)), nil, &d)
	return &d, err
}
