// goapp: the sample Go service profpipe's tests and demo profile. It burns
// CPU in a named hot function, allocates at a steady rate, contends on a
// mutex and blocks on a channel, and serves net/http/pprof. Like a service
// that uses runtime/pprof's labels, its CPU burner and its idle goroutines
// carry goroutine labels (workload=burn, endpoint=/burn; workload=idle),
// which Go writes into their CPU and goroutine profile samples.
//
//	goapp -addr 127.0.0.1:18689 [-alloc-rate BYTES_PER_SEC] [-goroutines N]
//
// GET /memstats answers runtime.MemStats as JSON (TotalAlloc, Mallocs,
// Frees, NumGC...), GET /goroutines the live count: the independent figures
// tests compare profpipe's output against.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var sink []byte

//go:noinline
func burnCPU(n int) uint64 {
	var x uint64 = 1
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 33
	}
	return x
}

// labelled gives the calling goroutine these pprof labels, and leaves its
// stack as it is (pprof.Do would add its own frames).
func labelled(kv ...string) {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(kv...)))
}

func cpuLoop() {
	var total uint64
	labelled("workload", "burn", "endpoint", "/burn")
	for {
		total += burnCPU(2000000)
		time.Sleep(2 * time.Millisecond)
	}
}

//go:noinline
func allocate(size int) {
	sink = make([]byte, size)
}

// allocLoop allocates rate bytes per second in 64 KiB pieces.
func allocLoop(rate int) {
	const piece = 64 * 1024
	perTick := rate / 100 / piece
	if perTick < 1 {
		perTick = 1
	}
	t := time.NewTicker(10 * time.Millisecond)
	for range t.C {
		for i := 0; i < perTick; i++ {
			allocate(piece)
		}
	}
}

var mu sync.Mutex
var counter int

//go:noinline
func contend() {
	for {
		mu.Lock()
		counter++
		time.Sleep(100 * time.Microsecond)
		mu.Unlock()
	}
}

//go:noinline
func blockOnChannel(ch chan int) {
	for {
		<-ch
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18689", "listen address")
	rate := flag.Int("alloc-rate", 8<<20, "bytes allocated per second")
	idle := flag.Int("goroutines", 20, "idle goroutines to keep")
	flag.Parse()

	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)

	go cpuLoop()
	go allocLoop(*rate)
	for i := 0; i < 4; i++ {
		go contend()
	}
	ch := make(chan int)
	go blockOnChannel(ch)
	go func() {
		for range time.Tick(5 * time.Millisecond) {
			ch <- 1
		}
	}()
	stop := make(chan struct{})
	for i := 0; i < *idle; i++ {
		go func() {
			labelled("workload", "idle")
			<-stop
		}()
	}

	http.HandleFunc("/memstats", func(w http.ResponseWriter, r *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&m)
	})
	http.HandleFunc("/goroutines", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", runtime.NumGoroutine())
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// Readiness for scripts: the address we listen on, once listening.
	fmt.Fprintf(os.Stdout, "listening %s\n", ln.Addr())
	os.Stdout.Sync()
	log.Fatal(http.Serve(ln, nil))
}
