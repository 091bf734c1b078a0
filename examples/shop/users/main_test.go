package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStoreNumbersUsersFromOne(t *testing.T) {
	s := NewStore("Ada", "Grace")
	if u, ok := s.Get(2); !ok || u.Name != "Grace" {
		t.Fatalf("Get(2) = %v, %v; want Grace", u, ok)
	}
	if _, ok := s.Get(3); ok {
		t.Fatal("Get(3) found a user that was never added")
	}
	if u := s.Add("Edsger"); u.ID != 3 {
		t.Fatalf("Add gave id %d, want 3", u.ID)
	}
}

func TestGetUser(t *testing.T) {
	srv := httptest.NewServer(Handler(NewStore("Ada")))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/users/1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u User
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || u.Name != "Ada" {
		t.Fatalf("got %d %v", resp.StatusCode, u)
	}

	for path, want := range map[string]int{"/users/2": 404, "/users/abc": 400, "/health": 200} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestCreateUser(t *testing.T) {
	store := NewStore()
	srv := httptest.NewServer(Handler(store))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/users", "application/json", strings.NewReader(`{"name":"Barbara"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /users = %d, want 201", resp.StatusCode)
	}
	if u, ok := store.Get(1); !ok || u.Name != "Barbara" {
		t.Fatalf("store holds %v, %v", u, ok)
	}

	resp, err = http.Post(srv.URL+"/users", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST /users without a name = %d, want 400", resp.StatusCode)
	}
}
