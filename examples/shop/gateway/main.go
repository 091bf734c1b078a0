// Command gateway is the shop's front door: it forwards /users/* to the users service and
// /orders/* to the orders service, so clients need to know a single address.
//
//	/users, /users/*    → USERS_URL  (default http://127.0.0.1:8081)
//	/orders, /orders/*  → ORDERS_URL (default http://127.0.0.1:8082)
//	/health             200 "ok"; /health?deep=1 also asks both upstreams
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Routes maps a path prefix ("/users") to the upstream that serves it.
type Routes map[string]*url.URL

// ParseRoutes builds Routes from prefix → base URL strings.
func ParseRoutes(raw map[string]string) (Routes, error) {
	routes := Routes{}
	for prefix, base := range raw {
		u, err := url.Parse(base)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("upstream for %s: %q is not an absolute URL", prefix, base)
		}
		routes[prefix] = u
	}
	return routes, nil
}

// Upstream returns the upstream serving path: "/users" and "/users/…" match "/users",
// "/usersx" does not.
func (r Routes) Upstream(path string) (*url.URL, bool) {
	for prefix, u := range r {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return u, true
		}
	}
	return nil, false
}

// Handler forwards requests to the matching upstream and answers /health itself.
func Handler(routes Routes, client *http.Client) http.Handler {
	proxies := map[*url.URL]*httputil.ReverseProxy{}
	for _, u := range routes {
		p := httputil.NewSingleHostReverseProxy(u)
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			// An upstream that is down is the common case while a fleet starts or restarts.
			http.Error(w, "upstream unavailable: "+err.Error(), http.StatusBadGateway)
		}
		proxies[u] = p
	}
	return logRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			health(w, r, routes, client)
			return
		}
		u, ok := routes.Upstream(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		proxies[u].ServeHTTP(w, r)
	}))
}

func health(w http.ResponseWriter, r *http.Request, routes Routes, client *http.Client) {
	if r.URL.Query().Get("deep") == "" {
		_, _ = w.Write([]byte("ok\n"))
		return
	}
	status, body := http.StatusOK, ""
	for prefix, u := range routes {
		state := "ok"
		resp, err := client.Get(u.String() + "/health")
		if err != nil {
			state = "down"
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				state = resp.Status
			}
		}
		if state != "ok" {
			status = http.StatusServiceUnavailable
		}
		body += fmt.Sprintf("%s %s\n", prefix, state)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
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
	port := getenv("PORT", "8080")
	routes, err := ParseRoutes(map[string]string{
		"/users":  getenv("USERS_URL", "http://127.0.0.1:8081"),
		"/orders": getenv("ORDERS_URL", "http://127.0.0.1:8082"),
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: ":" + port, Handler: Handler(routes, &http.Client{Timeout: 2 * time.Second})}

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

	log.Printf("gateway listening on :%s (users at %s, orders at %s)", port, routes["/users"], routes["/orders"])
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	log.Printf("stopped")
}
