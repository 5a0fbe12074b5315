//! Request metrics, and the `/metrics` page of the separate metrics listener.
//!
//! Each route gets its own instance of [`RouteMetrics`] (axum's `route_layer` layers every
//! route's handler, each method apart), which keeps the handles of its counters and histogram:
//! a request costs two clock reads, an atomic add and a histogram push, with no lock shared by
//! all requests and no allocation. The `route` label is the route's template (axum's
//! `MatchedPath`, `/cas/p3/serviceValidate`, `/admin/api/v1/users/{id}`), never the path a
//! client sent, and methods and status codes map to fixed labels: the series are bounded by the
//! code, whatever the traffic. Requests no route matches share the label `unmatched`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Counter, Histogram, SharedString};
use metrics_exporter_prometheus::PrometheusHandle;
use tower::{Layer, Service};

/// The `route` label of requests no route matched (the 404 page).
pub const UNMATCHED: &str = "unmatched";

const REQUESTS: &str = "guichet_http_requests_total";
const DURATION: &str = "guichet_http_request_duration_seconds";

/// The methods that get their own label; any other is `other`.
const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];
const METHOD_SLOTS: usize = METHODS.len() + 1;

/// The status codes guichet answers, each its own label; any other is counted in its class.
const STATUSES: [(u16, &str); 21] = [
    (200, "200"),
    (201, "201"),
    (204, "204"),
    (302, "302"),
    (303, "303"),
    (304, "304"),
    (400, "400"),
    (401, "401"),
    (403, "403"),
    (404, "404"),
    (405, "405"),
    (406, "406"),
    (409, "409"),
    (413, "413"),
    (415, "415"),
    (422, "422"),
    (429, "429"),
    (500, "500"),
    (502, "502"),
    (503, "503"),
    (504, "504"),
];
const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
const STATUS_SLOTS: usize = STATUSES.len() + CLASSES.len();

fn method_slot(method: &Method) -> usize {
    METHODS
        .iter()
        .position(|m| m == method)
        .unwrap_or(METHODS.len())
}

fn method_label(slot: usize) -> &'static str {
    METHODS.get(slot).map_or("other", Method::as_str)
}

fn status_slot(status: StatusCode) -> usize {
    let code = status.as_u16();
    match STATUSES.iter().position(|(c, _)| *c == code) {
        Some(i) => i,
        None => STATUSES.len() + usize::from(code / 100).clamp(1, 6) - 1,
    }
}

fn status_label(slot: usize) -> &'static str {
    match STATUSES.get(slot) {
        Some((_, label)) => label,
        None => CLASSES
            .get(slot - STATUSES.len())
            .copied()
            .unwrap_or("other"),
    }
}

/// Counts and times the requests of each route (`Router::route_layer`), or of a service that
/// stands for a fixed label (the fallback).
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteMetricsLayer {
    fixed: Option<&'static str>,
}

impl RouteMetricsLayer {
    /// The route's template is the label.
    pub fn matched() -> RouteMetricsLayer {
        RouteMetricsLayer { fixed: None }
    }

    /// Every request is labelled `route` (e.g. [`UNMATCHED`] for the fallback).
    pub fn fixed(route: &'static str) -> RouteMetricsLayer {
        RouteMetricsLayer { fixed: Some(route) }
    }
}

impl<S> Layer<S> for RouteMetricsLayer {
    type Service = RouteMetrics<S>;

    fn layer(&self, inner: S) -> RouteMetrics<S> {
        RouteMetrics {
            inner,
            fixed: self.fixed,
            handles: Arc::new(OnceLock::new()),
        }
    }
}

/// The handles of one route, registered at its first request.
struct RouteHandles {
    route: SharedString,
    methods: [OnceLock<MethodHandles>; METHOD_SLOTS],
}

struct MethodHandles {
    duration: Histogram,
    requests: [OnceLock<Counter>; STATUS_SLOTS],
}

impl RouteHandles {
    fn new(route: SharedString) -> RouteHandles {
        RouteHandles {
            route,
            methods: std::array::from_fn(|_| OnceLock::new()),
        }
    }

    fn record(&self, method: usize, status: StatusCode, seconds: f64) {
        let m = self.methods[method].get_or_init(|| MethodHandles {
            duration: metrics::histogram!(
                DURATION,
                "route" => self.route.clone(),
                "method" => method_label(method),
            ),
            requests: std::array::from_fn(|_| OnceLock::new()),
        });
        m.duration.record(seconds);
        let slot = status_slot(status);
        m.requests[slot]
            .get_or_init(|| {
                metrics::counter!(
                    REQUESTS,
                    "route" => self.route.clone(),
                    "method" => method_label(method),
                    "status" => status_label(slot),
                )
            })
            .increment(1);
    }
}

/// See [`RouteMetricsLayer`].
#[derive(Clone)]
pub struct RouteMetrics<S> {
    inner: S,
    fixed: Option<&'static str>,
    handles: Arc<OnceLock<Arc<RouteHandles>>>,
}

/// Where a request's sample goes.
enum Target {
    /// This route's handles.
    Route(Arc<RouteHandles>, usize),
    /// A template other than the one this instance first saw: axum gives each route its own
    /// instance, so this is not expected, but if it happens the sample still carries the right
    /// label (registered at each request: correct, not fast).
    Other(String, usize),
}

impl<S> RouteMetrics<S> {
    fn target(&self, req: &Request) -> Target {
        let method = method_slot(req.method());
        let route = match self.fixed {
            Some(label) => label,
            None => req
                .extensions()
                .get::<MatchedPath>()
                .map_or(UNMATCHED, MatchedPath::as_str),
        };
        let handles = self.handles.get_or_init(|| {
            let label = match self.fixed {
                Some(label) => SharedString::const_str(label),
                None => SharedString::from(route.to_owned()),
            };
            Arc::new(RouteHandles::new(label))
        });
        if &*handles.route == route {
            Target::Route(handles.clone(), method)
        } else {
            Target::Other(route.to_owned(), method)
        }
    }
}

impl<S> Service<Request> for RouteMetrics<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RouteMetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let target = Some(self.target(&req));
        RouteMetricsFuture {
            inner: self.inner.call(req),
            start: Instant::now(),
            target,
        }
    }
}

pin_project_lite::pin_project! {
    /// The route's response, recorded when it is ready.
    pub struct RouteMetricsFuture<F> {
        #[pin]
        inner: F,
        start: Instant,
        target: Option<Target>,
    }
}

impl<F, E> Future for RouteMetricsFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = ready!(this.inner.poll(cx));
        if let (Ok(res), Some(target)) = (&out, this.target.take()) {
            let seconds = this.start.elapsed().as_secs_f64();
            match target {
                Target::Route(handles, method) => handles.record(method, res.status(), seconds),
                Target::Other(route, method) => {
                    let slot = status_slot(res.status());
                    metrics::histogram!(
                        DURATION,
                        "route" => route.clone(),
                        "method" => method_label(method),
                    )
                    .record(seconds);
                    metrics::counter!(
                        REQUESTS,
                        "route" => route,
                        "method" => method_label(method),
                        "status" => status_label(slot),
                    )
                    .increment(1);
                }
            }
        }
        Poll::Ready(out)
    }
}

/// The metrics listener's application: `GET /metrics` in the Prometheus text format, 404
/// elsewhere. It has no state of the public application: only the recorder's handle.
pub fn scrape_router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt as _;

    #[test]
    fn methods_and_statuses_map_to_a_fixed_set_of_labels() {
        assert_eq!(method_label(method_slot(&Method::GET)), "GET");
        assert_eq!(method_label(method_slot(&Method::OPTIONS)), "OPTIONS");
        let odd = Method::from_bytes(b"PROPFIND").unwrap_or_default();
        assert_eq!(method_label(method_slot(&odd)), "other");
        assert_eq!(method_label(method_slot(&Method::TRACE)), "other");
        for (code, label) in [
            (200, "200"),
            (303, "303"),
            (429, "429"),
            (503, "503"),
            (101, "1xx"),
            (226, "2xx"),
            (308, "3xx"),
            (418, "4xx"),
            (599, "5xx"),
            (999, "other"),
        ] {
            let status = StatusCode::from_u16(code).unwrap_or_default();
            assert_eq!(status_label(status_slot(status)), label, "{code}");
        }
        let mut labels: Vec<&str> = (0..STATUS_SLOTS).map(status_label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), STATUS_SLOTS, "each slot its own label");
    }

    #[test]
    fn the_route_label_is_the_template_never_the_path_sent() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let app = Router::new()
                .route("/users/{id}", get(|| async { "user" }))
                .route_layer(RouteMetricsLayer::matched())
                .fallback_service(RouteMetricsLayer::fixed(UNMATCHED).layer(tower::service_fn(
                    |_: Request| async {
                        Ok::<_, std::convert::Infallible>(StatusCode::NOT_FOUND.into_response())
                    },
                )));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap_or_else(|e| unreachable!("{e}"));
            runtime.block_on(async {
                for (method, path) in [
                    ("GET", "/users/alice"),
                    ("GET", "/users/bob"),
                    ("POST", "/users/carol"),
                    ("GET", "/secret-probe-1"),
                    ("GET", "/secret-probe-2"),
                ] {
                    let req = Request::builder()
                        .method(method)
                        .uri(path)
                        .body(Body::empty())
                        .unwrap_or_default();
                    let _ = app.clone().oneshot(req).await;
                }
            });
        });
        let text = handle.render();
        for line in [
            r#"guichet_http_requests_total{route="/users/{id}",method="GET",status="200"} 2"#,
            r#"guichet_http_requests_total{route="/users/{id}",method="POST",status="405"} 1"#,
            r#"guichet_http_requests_total{route="unmatched",method="GET",status="404"} 2"#,
            r#"guichet_http_request_duration_seconds_count{route="/users/{id}",method="GET"} 2"#,
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        for sent in ["alice", "bob", "carol", "secret-probe"] {
            assert!(!text.contains(sent), "{sent} became a label:\n{text}");
        }
    }
}
