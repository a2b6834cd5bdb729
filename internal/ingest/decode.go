package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
)

// payload is the body clients already send. Pointers tell a missing field
// from an empty one; unknown fields are ignored.
type payload struct {
	ServiceName *string  `json:"serviceName"`
	Types       []string `json:"types"`
	Description *string  `json:"description"`
}

// request is a payload that passed validation.
type request struct {
	service     string
	channels    []string // nil: every configured channel
	description string
}

// mediaTypeOK accepts application/json and text/plain (what
// navigator.sendBeacon sends for a string), whatever their parameters.
func mediaTypeOK(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") || strings.EqualFold(mt, "text/plain")
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads the whole body, at most max bytes, into buf. The limit is
// checked against Content-Length first so an honest oversized request is
// refused before a byte is read; http.MaxBytesReader catches the rest
// (chunked bodies, lying lengths) and makes the server close the connection.
func readBody(w http.ResponseWriter, r *http.Request, max int64, buf *bytes.Buffer) *apiError {
	if r.ContentLength > max {
		return errTooLarge
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return errRead
	}
	return nil
}

// decodeBody parses body as exactly one JSON object and validates it.
// channels is the set of notifier names a `types` entry may name.
func decodeBody(body []byte, channels map[string]bool) (request, *apiError) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return request{}, errNotObject
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return request{}, errNotObject
		}
		switch f := te.Field; {
		case strings.HasPrefix(f, "serviceName"):
			return request{}, errServiceName
		case strings.HasPrefix(f, "types"):
			return request{}, errTypes
		case strings.HasPrefix(f, "description"):
			return request{}, errDescription
		default:
			return request{}, errNotObject
		}
	}
	if len(bytes.TrimLeft(trimmed[dec.InputOffset():], " \t\r\n")) != 0 {
		return request{}, errTrailing
	}
	if p.ServiceName == nil || *p.ServiceName == "" {
		return request{}, errServiceName
	}
	req := request{service: *p.ServiceName}
	if p.Description != nil {
		req.description = *p.Description
	}
	for _, t := range p.Types {
		if !channels[t] {
			return request{}, errorf(http.StatusBadRequest, "types: unknown channel %s", quoteInput(t))
		}
		if !contains(req.channels, t) {
			req.channels = append(req.channels, t)
		}
	}
	return req, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
