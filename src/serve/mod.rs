//! `ser-pipeline serve`: a small web server around a saved model.
//!
//! - `GET /` (and `/app.js`, `/style.css`): a single page, embedded in the binary, to upload a
//!   WAV/FLAC file or record from the microphone and see the predicted emotion.
//! - `POST /api/predict`: the audio as the raw body (any content type) or as a file field of a
//!   `multipart/form-data` body -> `{"emotion", "probabilities": {label: p}, "model",
//!   "duration_s", "sample_rate", "channels"}`.
//! - `GET /api/model`: the model card's facts, the serving limits and the model's evaluation
//!   metrics (the `fold == "mean"` rows of `metrics.csv`).
//! - `GET /healthz`: `ok`.
//!
//! Errors are `{"error": "..."}` with 400 (unreadable audio, empty body, no file field), 413
//! (body over `--max-upload-mb`, clip longer than `--max-duration-s`, or over the work budget
//! of that many seconds: `audio::limits`), 415 (a content type that is clearly not audio, audio
//! in a format other than WAV/FLAC, or a sample rate, channel count or sample size outside the
//! supported ranges), 422 (`no voice found in the clip: ...`, see `audio::voice`, or the model
//! cannot judge the clip) or 500. Decoding and prediction run on blocking threads, at most `--workers`
//! at once; a panic there becomes a 500, never a dead server.
//!
//! `mod.rs` starts the server (options, state, routes, logging, shutdown); `api.rs` holds the
//! handlers, `upload.rs` reads uploads within the limits, `error.rs` the JSON errors,
//! `model_info.rs` the `/api/model` answer and `page.rs` the embedded page.

mod api;
mod error;
mod model_info;
mod page;
mod upload;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use self::api::{api_model, api_predict, not_found};
use self::model_info::{find_metrics, model_info, read_metrics};
use self::page::{asset, APP_JS, INDEX_HTML, STYLE_CSS};
use crate::predict::Predictor;

/// `ser-pipeline serve` options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// A model folder written by the train stage, e.g. data/models/svm. Default: the first of
    /// data/models/{ensemble, svm, mlp, logistic_regression, random_forest, knn} that exists.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,

    /// Address to listen on. Port 0 picks a free port; the bound address is printed on stdout
    /// as `listening on http://HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    pub addr: String,

    /// Evaluation metrics to show (a metrics.csv written by the evaluate stage). Default:
    /// metrics.csv in the reports folder of the config the model was trained with, if found.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,

    /// Largest request body accepted, in MB (2^20 bytes); larger bodies get 413.
    #[arg(long, value_name = "MB", default_value_t = 20.0)]
    pub max_upload_mb: f64,

    /// Longest clip analysed, in seconds; longer clips get 413 (they are not cut).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub max_duration_s: f64,

    /// Clips decoded and analysed at once (default: one per core); other requests wait.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

struct AppState {
    predictor: Predictor,
    /// The `/api/model` answer, built once.
    model_info: Value,
    max_body: usize,
    max_duration_s: f64,
    workers: tokio::sync::Semaphore,
}

/// Runs the server until SIGINT or SIGTERM, then finishes the requests in flight.
/// `model`: the model folder to serve (`args.model`, or the default the caller resolved).
pub fn run(args: &ServeArgs, model: &Path) -> Result<()> {
    if !(args.max_upload_mb.is_finite() && args.max_upload_mb > 0.0) {
        bail!("--max-upload-mb must be a positive number");
    }
    if !(args.max_duration_s.is_finite() && args.max_duration_s > 0.0) {
        bail!("--max-duration-s must be a positive number");
    }
    let predictor = Predictor::load(model)
        .with_context(|| format!("cannot load the model in {}", model.display()))?;
    if predictor.needs_speaker_groups() {
        log::warn!(
            "serve: model {} standardises features per speaker and has no statistics for an \
             unknown speaker; single clips will be refused (422)",
            model.display()
        );
    } else if predictor.speaker_normalised() {
        log::info!(
            "serve: model {} standardises features per speaker; a single clip is standardised \
             with the training speakers' average statistics",
            model.display()
        );
    }
    let max_body = (args.max_upload_mb * 1024.0 * 1024.0).round() as usize;
    let metrics_path = match &args.metrics {
        Some(path) => {
            if !path.is_file() {
                bail!("--metrics {}: no such file", path.display());
            }
            Some(path.clone())
        }
        None => find_metrics(predictor.card(), model),
    };
    let (metrics, metrics_error) = match &metrics_path {
        Some(path) => match read_metrics(path, &predictor.model) {
            Ok(rows) => (rows, None),
            Err(e) if args.metrics.is_some() => return Err(e),
            Err(e) => {
                log::warn!("serve: {e:#}");
                (Vec::new(), Some(format!("{e:#}")))
            }
        },
        None => (Vec::new(), None),
    };
    match &metrics_path {
        Some(p) => log::info!(
            "serve: {} evaluation row(s) for {} from {}",
            metrics.len(),
            predictor.model,
            p.display()
        ),
        None => log::info!("serve: no metrics.csv found for the model (see --metrics)"),
    }
    let model_info = model_info(
        &predictor,
        metrics,
        metrics_path.as_deref(),
        metrics_error,
        max_body,
        args.max_duration_s,
    );
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let state = Arc::new(AppState {
        predictor,
        model_info,
        max_body,
        max_duration_s: args.max_duration_s,
        workers: tokio::sync::Semaphore::new(workers),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve")
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener.local_addr()?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{addr}")?;
            out.flush()?;
        }
        log::info!(
            "serve: model {} ({}) on http://{addr}; Ctrl-C to stop",
            state.predictor.model,
            state.predictor.dir.display()
        );
        axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server error")
    });
    runtime.shutdown_timeout(Duration::from_secs(10));
    log::info!("serve: stopped");
    result
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/index.html",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/model", get(api_model))
        // The body limit is enforced by `read_body` (with a JSON 413); axum's own (2 MB for
        // multipart) is off.
        .route(
            "/api/predict",
            post(api_predict).layer(DefaultBodyLimit::disable()),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request: method, path, status, milliseconds.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    log::info!(
        "{method} {path} {} {:.1} ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    );
    response
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            log::warn!("serve: cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                log::warn!("serve: cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    log::info!("serve: shutting down (finishing requests in flight)");
}
