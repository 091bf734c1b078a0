// Command users keeps the shop's customers in memory and serves them over HTTP.
//
//	GET  /users       every user, ordered by id
//	GET  /users/{id}  one user, or 404
//	POST /users       create a user from {"name": "..."}; returns it with its id
//	GET  /health      200 "ok" once the server accepts connections
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// User is one customer of the shop.
type User struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Store holds users in memory; safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	users  map[int]User
	nextID int
}

// NewStore returns a store seeded with the given names, numbered from 1.
func NewStore(names ...string) *Store {
	s := &Store{users: map[int]User{}, nextID: 1}
	for _, n := range names {
		s.Add(n)
	}
	return s
}

// Add creates a user and returns it.
func (s *Store) Add(name string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := User{ID: s.nextID, Name: name}
	s.users[u.ID] = u
	s.nextID++
	return u
}

// Get returns the user with id, if any.
func (s *Store) Get(id int) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	return u, ok
}

// All returns every user ordered by id.
func (s *Store) All() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]User, 0, len(s.users))
	for _, u := range s.users {
		all = append(all, u)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

// Handler routes the users API onto store.
func Handler(store *Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/users", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, store.All())
		case http.MethodPost:
			var in struct {
				Name string `json:"name"`
			}
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || strings.TrimSpace(in.Name) == "" {
				http.Error(w, `expected {"name": "..."}`, http.StatusBadRequest)
				return
			}
			writeJSON(w, http.StatusCreated, store.Add(in.Name))
		default:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
	mux.HandleFunc("/users/", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/users/"))
		if err != nil {
			http.Error(w, "user id must be a number", http.StatusBadRequest)
			return
		}
		u, ok := store.Get(id)
		if !ok {
			http.Error(w, "no such user", http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, u)
	})
	return logRequests(mux)
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusRecorder remembers the status code so the request log can show it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// logRequests writes one line per request to stdout, which Orchestra collects.
func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Printf("%s %s %d %s", r.Method, r.URL.Path, rec.status, time.Since(start).Round(time.Microsecond))
	})
}

func main() {
	log.SetOutput(os.Stdout)
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8081"
	}
	srv := &http.Server{Addr: ":" + port, Handler: Handler(NewStore("Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"))}

	// SIGTERM is how Orchestra asks a service to stop: finish in-flight requests, then exit.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		log.Printf("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()

	log.Printf("users listening on :%s", port)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	log.Printf("stopped")
}
