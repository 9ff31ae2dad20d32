//! Assembles the HTTP application from the roles' routers and the web site,
//! plus `/healthz`, `/metrics`, the OpenAPI document, and error bodies in
//! the shape their reader expects (JSON for machines, a page for people).

use axum::Router;
use axum::body::Body;
use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;
use serde_json::json;
use tower::Layer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};
use tracing::Instrument;

use cloudcast_beats::BeatSender;
use cloudcast_core::ApiError;
use cloudcast_core::netaddr::{Network, client_ip, ip_prefix};
use cloudcast_core::request_id;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::{Role, Services};

pub fn app(
    services: &Services,
    roles: &[Role],
    beats: Option<BeatSender>,
    metrics: Option<PrometheusHandle>,
) -> Router {
    let web = &services.config.http.web_dir;
    let mut router = Router::new()
        .nest_service("/assets", no_cache(ServeDir::new(web.join("dist"))))
        .route("/healthz", get(healthz).with_state(services.clone()))
        .route("/metrics", get(metrics_text).with_state(metrics))
        .route(
            "/api/openapi.json",
            get(openapi_json).with_state(std::sync::Arc::new(
                // Serialising a document built from static annotations
                // cannot fail; an empty object would show it did.
                api_doc().to_json().unwrap_or_else(|_| "{}".into()),
            )),
        );
    // Every node checks open-API keys (any request may carry one); one
    // privacy state, so a revoked key is forgotten by the gate at once.
    let privacy = services.privacy();
    // The API the pages read in-process: what the roles here serve.
    let mut api = Router::new();
    if Role::Api.runs(roles) {
        api = api
            .merge(cloudcast_accounts::router(services.accounts()))
            .merge(cloudcast_apps::router(services.apps()))
            .merge(cloudcast_catalog::router(services.catalog()))
            .merge(cloudcast_ingest::router(services.ingest()))
            .merge(cloudcast_privacy::router(privacy.clone()))
            .merge(cloudcast_notifications::router(services.notifications()))
            .merge(cloudcast_moderation::router(
                services.moderation(privacy.clone()),
            ));
    }
    if let (true, Some(beats)) = (Role::Stream.runs(roles), beats) {
        // Web players on other origins fetch ranges and read these headers.
        let cors = CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::RANGE,
                header::CONTENT_TYPE,
                header::IF_RANGE,
                header::IF_NONE_MATCH,
                header::IF_MODIFIED_SINCE,
            ])
            .expose_headers([
                header::CONTENT_RANGE,
                header::CONTENT_LENGTH,
                header::ACCEPT_RANGES,
                header::ETAG,
            ]);
        let config = &services.config;
        api = api.merge(
            cloudcast_stream::router(cloudcast_stream::StreamState::new(
                services.pool.clone(),
                services.storage.clone(),
                config.stream.clone(),
                config.analytics.max_beats_per_request,
                services.signer.clone(),
                services.listeners.clone(),
                beats,
            ))
            .layer(cors),
        );
    }
    if Role::Analytics.runs(roles) {
        api = api.merge(cloudcast_analytics::router(services.analytics()));
    }
    router = router.merge(api.clone());
    if services.config.smtp.mailbox_page {
        router = router.route(
            "/mailbox",
            get(crate::mailbox::page).with_state(services.pool.clone()),
        );
    }
    // The site is served where accounts and the catalogue are.
    if Role::Api.runs(roles) {
        router = router.merge(cloudcast_site::router(cloudcast_site::SiteState {
            api: cloudcast_site::Api::new(api),
            public_url: services.config.public_url().into(),
            beat_batch_secs: services.config.analytics.player_batch_secs,
            min_password_len: services.config.auth.min_password_len,
            notification_poll_secs: services.config.notifications.poll.as_secs(),
        }));
    }
    // Playlists and JSON compress well; media is already compressed and
    // must keep exact byte ranges, so audio is never re-encoded.
    // Event streams neither: a compressor holds each event back.
    let compress = SizeAbove::new(256)
        .and(NotForContentType::const_new("audio/"))
        .and(NotForContentType::const_new("text/event-stream"));
    // Only the request metrics sit on every route (they read the route's
    // pattern, which the router sets). The rest wraps the router once:
    // `Router::layer` wraps each route, and every request then cloned each
    // layer's boxed service and state, a fifth of a heartbeat's CPU.
    let routes = router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(http_metrics));
    let stack = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn(with_request_id))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::from(services.config.http.trusted_proxies.as_slice()),
            forwarded_client,
        ))
        .layer(axum::middleware::from_fn(access_log))
        .layer(axum::middleware::from_fn_with_state(
            services.config.http.body_timeout,
            crate::body_deadline::limit,
        ))
        .layer(CompressionLayer::new().compress_when(compress))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn(error_bodies))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::<str>::from(cloudcast_core::origin::origin_of(
                &services.config.public_url(),
            )),
            guard,
        ))
        // An app's token reaches what its scopes cover, and is refused
        // before it counts against any write allowance.
        .layer(axum::middleware::from_fn_with_state(
            services.pool.clone(),
            cloudcast_core::scopes::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(cloudcast_core::write_limits::Limits::new(
                services.pool.clone(),
                &services.config.limits,
            )),
            cloudcast_core::write_limits::enforce,
        ))
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(privacy),
            cloudcast_privacy::apikeys::gate,
        ))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// Refuses a cookie-authenticated write from another site (CSRF,
/// `core/src/origin.rs`), and gives every answer the headers that keep
/// browsers from guessing types or leaking addresses: `nosniff`, a
/// `Referrer-Policy` that sends other sites the origin alone, and
/// `no-store` on anything answered to a signed-in request (or setting a
/// cookie) that did not choose its own caching.
async fn guard(State(site): State<std::sync::Arc<str>>, req: Request, next: Next) -> Response {
    use cloudcast_core::origin;
    if origin::is_cross_site_write(req.method(), req.headers(), &site) {
        return ApiError::new(StatusCode::FORBIDDEN, "cross_site_request", origin::REFUSAL)
            .into_response();
    }
    let signed_in = cloudcast_core::auth::any_credential(req.headers());
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    // What an answer chose stays (media, playlists, pictures), unless it
    // lets a browser keep a copy of a signed-in answer (pages' `no-cache`).
    let chosen = h
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            (v.contains("public") || v.contains("private")) && !v.contains("no-cache")
        });
    if (signed_in || h.contains_key(header::SET_COOKIE)) && !chosen {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Behind a trusted proxy, the client's address (from `X-Forwarded-For`)
/// replaces the proxy's as the request's peer, so every per-address rule
/// downstream (limits, /24 and /48, the daily IP hash, the access log)
/// sees the listener rather than the load balancer.
async fn forwarded_client(
    State(trusted): State<std::sync::Arc<[Network]>>,
    mut req: Request,
    next: Next,
) -> Response {
    if !trusted.is_empty()
        && let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied()
    {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let ip = client_ip(peer.ip(), forwarded, &trusted);
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, peer.port())));
    }
    next.run(req).await
}

/// Gives the request its id (a client's well-formed `X-Request-Id`, else a
/// new one), runs it inside that id's scope and in a span carrying it, and
/// returns the id in the response.
async fn with_request_id(req: Request, next: Next) -> Response {
    let id = request_id::accept_or_new(
        req.headers()
            .get(request_id::HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    // Media ranges and heartbeats, thousands a second, get their span at
    // debug level only (as their access log lines).
    let span = if is_busy(req.uri().path()) {
        tracing::debug_span!("request", request_id = %id)
    } else {
        tracing::info_span!("request", request_id = %id)
    };
    let mut resp = request_id::scope(id.clone(), next.run(req).instrument(span)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(request_id::HEADER, v);
    }
    resp
}

/// Request counts and latencies by route: the matched pattern, never the
/// path itself (ids would make a series per cloudcast).
async fn http_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let started = Instant::now();
    let resp = next.run(req).await;
    cloudcast_core::metrics::http_request(route, method, resp.status().as_u16(), started.elapsed());
    resp
}

/// The method as a label without an allocation (the API uses these).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A handler that panicked answers 500 in the API's error shape; the panic
/// itself is in the log (the panic hook prints it).
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::server(StatusCode::INTERNAL_SERVER_ERROR, "internal").into_response()
}

/// `/metrics`: every metric of this process in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    summary = "Metrics (Prometheus text format)",
    description = "Requests by route, heartbeat log and shipper, the transcode queue and jobs, \
        S3, PostgreSQL and ClickHouse calls, the chunk cache, upload bytes; every role serves it.",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String,
            content_type = "text/plain; version=0.0.4")))]
async fn metrics_text(State(handle): State<Option<PrometheusHandle>>) -> Response {
    let body = handle.map(|h| h.render()).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}

/// The routes of the hot path: media ranges and heartbeats.
fn is_busy(path: &str) -> bool {
    path.starts_with("/stream/") || path == "/api/v1/heartbeats"
}

/// One log line per request: method, path (never the query string, which
/// carries signatures and tokens), status, time, and the client's /24 or
/// /48 only (addresses are never kept whole). Media ranges and heartbeats,
/// thousands a second, log at debug level; the rest at info.
async fn access_log(req: Request, next: Next) -> Response {
    let busy = is_busy(req.uri().path());
    // Decided before any work: on the hot routes the line is usually off,
    // and then neither the prefix nor the redacted path is built.
    let on = if busy {
        tracing::enabled!(target: "cloudcast::access", tracing::Level::DEBUG)
    } else {
        tracing::enabled!(target: "cloudcast::access", tracing::Level::INFO)
    };
    if !on {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = redact(req.uri().path());
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| ip_prefix(c.0.ip()))
        .unwrap_or_default();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if busy {
        tracing::debug!(target: "cloudcast::access", %method, %path, status, ms, %client, "request");
    } else {
        tracing::info!(target: "cloudcast::access", %method, %path, status, ms, %client, "request");
    }
    resp
}

/// The path with any segment that looks like an email address replaced, so
/// a client putting one in a URL does not put it in the logs.
fn redact(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.contains('@') || seg.contains("%40") {
                "[redacted]"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Pages and bundles keep fixed names, so browsers must revalidate them.
fn no_cache<S>(svc: S) -> SetResponseHeader<S, HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
        .layer(svc)
}

/// The OpenAPI 3 document of the whole API (every role's routes, whichever
/// this node runs), generated from the handlers' annotations.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
async fn openapi_json(State(doc): State<std::sync::Arc<String>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc.as_str().to_owned(),
    )
        .into_response()
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, openapi_json, metrics_text))]
struct RootDoc;

/// The whole API's OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = <RootDoc as utoipa::OpenApi>::openapi();
    doc.merge(cloudcast_accounts::api_doc());
    doc.merge(cloudcast_apps::api_doc());
    doc.merge(cloudcast_catalog::api_doc());
    doc.merge(cloudcast_ingest::api_doc());
    doc.merge(cloudcast_privacy::api_doc());
    doc.merge(cloudcast_notifications::api_doc());
    doc.merge(cloudcast_moderation::api_doc());
    doc.merge(cloudcast_stream::api_doc());
    doc.merge(cloudcast_analytics::api_doc());
    doc.merge(cloudcast_site::api_doc());
    cloudcast_core::apidoc::finish(doc)
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

/// Errors in the shape their reader expects: the API, media and oEmbed
/// answer JSON, pages an HTML page.
async fn error_bodies(req: Request, next: Next) -> Response {
    let machine = cloudcast_site::is_machine_path(req.uri().path());
    let resp = next.run(req).await;
    if machine {
        json_errors(resp).await
    } else {
        html_errors(resp).await
    }
}

/// A page's error that is not already HTML (a JSON refusal, axum's own
/// rejection) becomes the HTML error page, keeping status and headers.
async fn html_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Default::default(),
    };
    let message = ApiError::message_in(&text)
        .filter(|_| !status.is_server_error())
        .unwrap_or_else(|| match status {
            StatusCode::NOT_FOUND => "There is no page at this address.".to_owned(),
            s if s.is_server_error() => "Something went wrong on our side.".to_owned(),
            s => s.canonical_reason().unwrap_or("error").to_owned(),
        });
    let page = cloudcast_site::error_page(status, &message);
    let (mut page_parts, page_body) = page.into_parts();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            page_parts.headers.entry(k).or_insert(v.clone());
        }
    }
    Response::from_parts(page_parts, page_body)
}

/// Rewrites error responses that are not JSON (axum's own rejections such as
/// 405 or 413) into the API's `{"error": {...}}` shape, keeping status and headers.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = match body.collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes())
            .chars()
            .take(300)
            .collect::<String>(),
        Err(_) => String::new(),
    };
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    // Whatever text a 5xx came with stays out of the body.
    let api = if status.is_server_error() {
        ApiError::server(status, code)
    } else {
        ApiError::new(status, code, message)
    };
    let body = api.body().to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// 200 once PostgreSQL, S3 and ClickHouse all answer; 503 naming the ones
/// that do not. On a cluster, an analytics node also names the ClickHouse
/// replicas that stopped running DDL (the node still serves: 200,
/// `status: degraded`).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    summary = "Are PostgreSQL, S3 and ClickHouse answering?",
    responses(
        (status = 200, description = "All answer: {status, postgres, s3, clickhouse}; on a \
            cluster's analytics node also `clickhouse_ddl` (`ok`, or the replicas not running \
            DDL tasks under `stuck_replicas`, with `status: degraded`)"),
        (status = 503, description = "Some do not; each is named")))]
async fn healthz(State(s): State<Services>) -> Response {
    let pg = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&s.pool);
    let s3 = s.storage.ping();
    let ch = s.clickhouse.query("SELECT 1").fetch_one::<u8>();
    let timeout = std::time::Duration::from_secs(3);
    let (pg, s3, ch) = tokio::join!(
        tokio::time::timeout(timeout, pg),
        tokio::time::timeout(timeout, s3),
        tokio::time::timeout(timeout, ch)
    );
    let pg_ok = matches!(pg, Ok(Ok(_)));
    let s3_ok = matches!(s3, Ok(Ok(_)));
    let ch_ok = matches!(ch, Ok(Ok(_)));
    let all = pg_ok && s3_ok && ch_ok;
    let status = if all {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let mut body = json!({
        "status": word(all),
        "postgres": word(pg_ok),
        "s3": word(s3_ok),
        "clickhouse": word(ch_ok),
    });
    // Only where the watch runs (a cluster's analytics node) and has looked.
    let stuck = s.ddl_health.read().ok().and_then(|h| h.clone());
    if let Some(stuck) = stuck {
        body["clickhouse_ddl"] = json!(if stuck.is_empty() { "ok" } else { "stuck" });
        if !stuck.is_empty() {
            body["stuck_replicas"] = json!(stuck);
            if all {
                body["status"] = json!("degraded");
            }
        }
    }
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn emails_in_paths_are_redacted() {
        assert_eq!(
            redact("/api/v1/users/alice@example.org/activity"),
            "/api/v1/users/[redacted]/activity"
        );
        assert_eq!(
            redact("/api/v1/users/bob%40example.org"),
            "/api/v1/users/[redacted]"
        );
        assert_eq!(redact("/api/v1/users/dj_alice"), "/api/v1/users/dj_alice");
    }
}
