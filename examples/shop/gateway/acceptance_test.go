//go:build acceptance

// Acceptance tests run against the live fleet: `orchestra test --acceptance` starts the
// shop, runs these with the gateway's PORT in the environment, and stops it again.
package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

func gatewayURL(path string) string {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	return "http://127.0.0.1:" + port + path
}

func fetch(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(gatewayURL(path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestAcceptanceUserThroughGateway(t *testing.T) {
	code, body := fetch(t, "/users/1")
	if code != http.StatusOK || !strings.Contains(body, "Ada") {
		t.Fatalf("GET /users/1 = %d %q, want 200 with Ada", code, body)
	}
}

func TestAcceptanceOrdersReachUsers(t *testing.T) {
	resp, err := http.Post(gatewayURL("/orders"), "application/json",
		strings.NewReader(`{"user_id": 999, "item": "tea", "quantity": 1}`))
	if err != nil {
		t.Fatalf("POST /orders: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an order for an unknown user gave %d, want 422", resp.StatusCode)
	}
}
