package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// metricsHandler serves g at /metrics. A collector that fails is logged and
// left out rather than failing the whole scrape: the rest still tells the
// operator more than a 500 would.
func metricsHandler(g prometheus.Gatherer, log *zap.Logger) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      zap.NewStdLog(log.WithOptions(zap.IncreaseLevel(zap.WarnLevel))),
		ErrorHandling: promhttp.ContinueOnError,
	})
}
