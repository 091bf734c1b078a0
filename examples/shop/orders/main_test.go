package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// knownUsers stands in for the users service in handler tests; UsersClient is tested
// against a real HTTP server below.
type knownUsers map[int]bool

func (k knownUsers) Exists(_ context.Context, id int) (bool, error) { return k[id], nil }

type downUsers struct{}

func (downUsers) Exists(context.Context, int) (bool, error) {
	return false, errors.New("connection refused")
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCreateOrderChecksTheUser(t *testing.T) {
	srv := httptest.NewServer(NewService(knownUsers{1: true}, nil).Handler())
	defer srv.Close()

	if got := post(t, srv.URL+"/orders", `{"user_id":1,"item":"tea","quantity":2}`); got != http.StatusCreated {
		t.Fatalf("order for user 1 = %d, want 201", got)
	}
	if got := post(t, srv.URL+"/orders", `{"user_id":7,"item":"tea","quantity":2}`); got != http.StatusUnprocessableEntity {
		t.Fatalf("order for unknown user = %d, want 422", got)
	}
	if got := post(t, srv.URL+"/orders", `{"user_id":1,"item":"","quantity":2}`); got != http.StatusBadRequest {
		t.Fatalf("order without item = %d, want 400", got)
	}

	resp, err := http.Get(srv.URL + "/orders/1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var o Order
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
		t.Fatal(err)
	}
	if o.Item != "tea" || o.Quantity != 2 || o.UserID != 1 {
		t.Fatalf("stored order = %+v", o)
	}
}

func TestCreateOrderWhenUsersIsDown(t *testing.T) {
	srv := httptest.NewServer(NewService(downUsers{}, nil).Handler())
	defer srv.Close()
	if got := post(t, srv.URL+"/orders", `{"user_id":1,"item":"tea","quantity":1}`); got != http.StatusBadGateway {
		t.Fatalf("order while users is down = %d, want 502", got)
	}
}

func TestUsersClientAsksOverHTTP(t *testing.T) {
	users := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/users/1" {
			_, _ = w.Write([]byte(`{"id":1}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer users.Close()

	c := UsersClient{BaseURL: users.URL, Client: users.Client()}
	for id, want := range map[int]bool{1: true, 2: false} {
		got, err := c.Exists(context.Background(), id)
		if err != nil || got != want {
			t.Errorf("Exists(%d) = %v, %v; want %v", id, got, err, want)
		}
	}
}

func TestRedisStatus(t *testing.T) {
	var none *Redis
	if got := none.Status(); got != "not configured" {
		t.Errorf("nil redis status = %q", got)
	}

	// A real listener that speaks just enough RESP to answer PING.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for i := 0; i < 3; i++ { // *1, $4, PING
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
		}
		_, _ = conn.Write([]byte("+PONG\r\n"))
	}()
	up := &Redis{Addr: ln.Addr().String()}
	if got := up.Status(); got != "up" {
		t.Errorf("status with a PONG server = %q", got)
	}
	ln.Close()
	if got := up.Status(); got != "down" {
		t.Errorf("status after the server closed = %q", got)
	}
}
