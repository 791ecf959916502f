package cffake

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is one entry of the envelope's "errors".
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// envelope is the body of every JSON answer, success or not.
type envelope struct {
	Result     any        `json:"result"`
	ResultInfo any        `json:"result_info,omitempty"`
	Success    bool       `json:"success"`
	Errors     []apiError `json:"errors"`
	Messages   []any      `json:"messages"`
}

// pageInfo is result_info on page-numbered lists.
type pageInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

func writeJSON(w http.ResponseWriter, status int, env envelope) {
	if env.Errors == nil {
		env.Errors = []apiError{}
	}
	env.Messages = []any{}
	b, err := json.Marshal(env)
	if err != nil {
		panic("cffake: encoding an answer: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// ok answers 200 with result.
func (c *call) ok(result any) {
	writeJSON(c.w, http.StatusOK, envelope{Result: result, Success: true})
}

// list answers 200 with result and result_info.
func (c *call) list(result, info any) {
	writeJSON(c.w, http.StatusOK, envelope{Result: result, ResultInfo: info, Success: true})
}

// fail answers status with one error and a null result.
func (c *call) fail(status, code int, format string, args ...any) {
	writeJSON(c.w, status, envelope{Errors: []apiError{{code, fmt.Sprintf(format, args...)}}})
}

// raw answers 200 with bytes that are not an envelope, as KV values and
// script content are.
func (c *call) raw(contentType string, body []byte) {
	c.w.Header().Set("Content-Type", contentType)
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
}

// decode reads the JSON body into v, answering 400 itself when it cannot.
func (c *call) decode(v any) bool {
	if err := json.Unmarshal(c.body, v); err != nil {
		c.fail(http.StatusBadRequest, 6007, "Malformed JSON in request body")
		return false
	}
	return true
}
