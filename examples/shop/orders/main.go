// Command orders takes the shop's orders. It depends on the users service: an order is
// accepted only for a user that exists there. When REDIS_HOST is set (Orchestra injects it
// once the redis vendor runs), /health also reports whether Redis answers; without it the
// service works the same, in memory.
//
//	GET  /orders       every order, ordered by id
//	GET  /orders/{id}  one order, or 404
//	POST /orders       create from {"user_id": 1, "item": "...", "quantity": 2}
//	GET  /health       200 with {"status":"ok","redis":"up|down|not configured"}
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Order is one purchase by one user.
type Order struct {
	ID       int    `json:"id"`
	UserID   int    `json:"user_id"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// Users answers whether a user exists; the real one asks the users service over HTTP.
type Users interface {
	Exists(ctx context.Context, id int) (bool, error)
}

// UsersClient asks the users service at BaseURL.
type UsersClient struct {
	BaseURL string
	Client  *http.Client
}

// Exists reports whether GET {BaseURL}/users/{id} finds the user.
func (c UsersClient) Exists(ctx context.Context, id int) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/users/%d", c.BaseURL, id), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("users service answered %s", resp.Status)
	}
}

// Service holds the orders in memory and validates new ones against Users.
type Service struct {
	users  Users
	redis  *Redis
	mu     sync.Mutex
	orders map[int]Order
	nextID int
}

// NewService returns an empty order book; redis may be nil.
func NewService(users Users, redis *Redis) *Service {
	return &Service{users: users, redis: redis, orders: map[int]Order{}, nextID: 1}
}

func (s *Service) add(o Order) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.ID = s.nextID
	s.nextID++
	s.orders[o.ID] = o
	return o
}

func (s *Service) all() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		all = append(all, o)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
}

func (s *Service) get(id int) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	return o, ok
}

// Handler routes the orders API.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "redis": s.redis.Status()})
	})
	mux.HandleFunc("/orders", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.all())
		case http.MethodPost:
			s.create(w, r)
		default:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
	mux.HandleFunc("/orders/", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/orders/"))
		if err != nil {
			http.Error(w, "order id must be a number", http.StatusBadRequest)
			return
		}
		o, ok := s.get(id)
		if !ok {
			http.Error(w, "no such order", http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, o)
	})
	return logRequests(mux)
}

func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	var o Order
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil || o.Item == "" || o.Quantity <= 0 {
		http.Error(w, `expected {"user_id": 1, "item": "...", "quantity": 1}`, http.StatusBadRequest)
		return
	}
	ok, err := s.users.Exists(r.Context(), o.UserID)
	if err != nil {
		// The dependency is down: say so rather than guessing.
		http.Error(w, "cannot reach the users service: "+err.Error(), http.StatusBadGateway)
		return
	}
	if !ok {
		http.Error(w, fmt.Sprintf("user %d does not exist", o.UserID), http.StatusUnprocessableEntity)
		return
	}
	writeJSON(w, http.StatusCreated, s.add(o))
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

func getenv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func main() {
	log.SetOutput(os.Stdout)
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	port := getenv("PORT", "8082")
	usersURL := getenv("USERS_URL", "http://127.0.0.1:8081")

	var redis *Redis
	if host := os.Getenv("REDIS_HOST"); host != "" {
		redis = &Redis{Addr: host + ":" + getenv("REDIS_PORT", "6379")}
		log.Printf("redis at %s: %s", redis.Addr, redis.Status())
	}

	svc := NewService(UsersClient{BaseURL: usersURL, Client: &http.Client{Timeout: 3 * time.Second}}, redis)
	srv := &http.Server{Addr: ":" + port, Handler: svc.Handler()}

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

	log.Printf("orders listening on :%s (users at %s)", port, usersURL)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	log.Printf("stopped")
}
