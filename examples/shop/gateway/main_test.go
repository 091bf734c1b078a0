package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUpstreamMatchesWholeSegments(t *testing.T) {
	routes, err := ParseRoutes(map[string]string{"/users": "http://u:1", "/orders": "http://o:2"})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{"/users": "u:1", "/users/7": "u:1", "/orders/1": "o:2", "/usersx": "", "/": ""}
	for path, want := range cases {
		u, ok := routes.Upstream(path)
		got := ""
		if ok {
			got = u.Host
		}
		if got != want {
			t.Errorf("Upstream(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestParseRoutesRejectsRelativeURLs(t *testing.T) {
	if _, err := ParseRoutes(map[string]string{"/users": "localhost:8081"}); err == nil {
		t.Fatal("a URL without scheme was accepted")
	}
}

func TestForwardsToTheUpstream(t *testing.T) {
	users := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "users saw "+r.URL.Path)
	}))
	defer users.Close()
	routes, err := ParseRoutes(map[string]string{"/users": users.URL, "/orders": "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(Handler(routes, users.Client()))
	defer gw.Close()

	body, status := get(t, gw.URL+"/users/1")
	if status != http.StatusOK || body != "users saw /users/1" {
		t.Fatalf("GET /users/1 = %d %q", status, body)
	}
	// Nothing listens on port 1: the gateway reports a bad gateway instead of hanging.
	if _, status := get(t, gw.URL+"/orders/1"); status != http.StatusBadGateway {
		t.Fatalf("GET /orders/1 with orders down = %d, want 502", status)
	}
	if _, status := get(t, gw.URL+"/health"); status != http.StatusOK {
		t.Fatalf("shallow /health = %d", status)
	}
	if body, status := get(t, gw.URL+"/health?deep=1"); status != http.StatusServiceUnavailable {
		t.Fatalf("deep /health with orders down = %d %q, want 503", status, body)
	}
	if _, status := get(t, gw.URL+"/elsewhere"); status != http.StatusNotFound {
		t.Fatalf("unknown path = %d, want 404", status)
	}
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp.StatusCode
}
