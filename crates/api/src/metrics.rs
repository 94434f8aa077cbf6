//! Prometheus metrics for the API (the `/metrics` text exposition), plus the registries of
//! whatever runs in the same process ([`Metrics::include`]: the embedded event pipeline).

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::state::AppState;

/// The API's metrics in their own registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Other registries exposed on the same `/metrics` (the embedded pipeline's).
    included: Arc<Mutex<Vec<Registry>>>,
    requests: IntCounterVec,
    /// Open WebSocket clients.
    pub ws_clients: IntGauge,
    /// WebSocket clients closed for not keeping up.
    pub ws_slow_closed: IntCounter,
    /// Failed or refused logins.
    pub login_failures: IntCounter,
}

impl Metrics {
    /// Fresh metrics.
    // The names and labels are static and valid, the only way these constructors fail.
    #[allow(clippy::expect_used)]
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "hookflash_api_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("static metric");
        let ws_clients = IntGauge::new("hookflash_api_ws_clients", "Open WebSocket clients")
            .expect("static metric");
        let ws_slow_closed = IntCounter::new(
            "hookflash_api_ws_slow_closed_total",
            "WebSocket clients closed because they could not keep up",
        )
        .expect("static metric");
        let login_failures = IntCounter::new(
            "hookflash_api_login_failures_total",
            "Failed or rate-limited logins",
        )
        .expect("static metric");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(ws_clients.clone()),
            Box::new(ws_slow_closed.clone()),
            Box::new(login_failures.clone()),
        ] {
            registry.register(c).expect("distinct metric names");
        }
        Self {
            registry,
            included: Arc::new(Mutex::new(Vec::new())),
            requests,
            ws_clients,
            ws_slow_closed,
            login_failures,
        }
    }

    /// Exposes `registry` on the same `/metrics` (a single-node api-server includes its
    /// embedded pipeline's figures). Its metric names must differ from the API's.
    pub fn include(&self, registry: Registry) {
        self.included
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(registry);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut families = self.registry.gather();
        let included = self
            .included
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for r in included {
            families.extend(r.gather());
        }
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&families, &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Middleware counting requests by matched route (not raw path: ids would explode the labels).
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    state
        .metrics()
        .requests
        .with_label_values(&[method.as_str(), route.as_str(), response.status().as_str()])
        .inc();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry included (the embedded pipeline's) is rendered with the API's own metrics.
    #[test]
    fn included_registries_are_rendered_with_the_api_metrics() {
        let metrics = Metrics::new();
        metrics.login_failures.inc();
        let other = Registry::new();
        let events = IntCounter::new("hookflash_listener_events_total", "Leg events").unwrap();
        other.register(Box::new(events.clone())).unwrap();
        events.inc_by(7);
        assert!(!metrics.render().contains("hookflash_listener_events_total"));
        metrics.include(other);
        let text = metrics.render();
        assert!(
            text.contains("hookflash_api_login_failures_total 1"),
            "{text}"
        );
        assert!(text.contains("hookflash_listener_events_total 7"), "{text}");
        // A clone (the router's state) sees the same inclusion.
        assert!(
            metrics
                .clone()
                .render()
                .contains("hookflash_listener_events_total 7")
        );
    }
}
