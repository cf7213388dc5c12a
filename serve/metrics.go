package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus collectors, in a registry of its own
// (no global state: two Servers in one process do not share counters).
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec   // by endpoint and status code
	latency    *prometheus.HistogramVec // by endpoint
	inFlight   prometheus.Gauge
	queueDepth prometheus.Gauge
	batchTexts prometheus.Histogram
	chars      prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deen_http_requests_total",
			Help: "HTTP requests answered, by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "deen_http_request_duration_seconds",
			Help:    "Time from request to response, by endpoint.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"endpoint"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deen_http_requests_in_flight",
			Help: "Requests being answered now.",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deen_batch_queue_depth",
			Help: "Requests waiting for the dynamic batcher.",
		}),
		batchTexts: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "deen_batch_texts",
			Help:    "Texts merged into one TranslateBatch call by the dynamic batcher.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		chars: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deen_characters_translated_total",
			Help: "Characters (code points) of source text translated.",
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.inFlight, m.queueDepth, m.batchTexts, m.chars,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
