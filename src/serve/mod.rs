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
//! (body over `--max-upload-mb`, or clip longer than `--max-duration-s`), 415 (a content type
//! that is clearly not audio, or audio in a format other than WAV/FLAC), 422 (the model cannot
//! judge the clip) or 500. Decoding and prediction run on blocking threads, at most `--workers`
//! at once; a panic there becomes a 500, never a dead server.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};

use crate::audio::{self, AudioError};
use crate::config::Config;
use crate::models::ModelCard;
use crate::predict::Predictor;

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

/// The page's only sources are itself (no CDN); recordings play from `blob:` URLs.
const CSP: &str = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; \
                   style-src 'self'; script-src 'self'; connect-src 'self'; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `ser-pipeline serve` options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// A model folder written by the train stage, e.g. data/models/svm. Default: the first of
    /// data/models/{ensemble, svm, mlp, logistic_regression, random_forest} that exists.
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

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

async fn not_found(req: Request) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such page: {}", req.uri().path()),
    )
    .into_response()
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

/// A JSON error: `{"error": message}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

async fn api_model(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.model_info.clone())
}

async fn api_predict(
    State(state): State<Arc<AppState>>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(body, &parts.headers, state.max_body).await?;
    let content_type = header_str(&parts.headers, header::CONTENT_TYPE);
    let upload = if mime_essence(&content_type) == "multipart/form-data" {
        file_from_multipart(Request::from_parts(parts, Body::from(bytes))).await?
    } else {
        Upload {
            bytes,
            content_type,
            file_name: None,
        }
    };
    if upload.bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the upload is empty: send a WAV or FLAC file",
        ));
    }
    if clearly_not_audio(&upload.content_type) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "{} is not audio: send a WAV or FLAC file",
                mime_essence(&upload.content_type)
            ),
        ));
    }
    let _permit = state
        .workers
        .acquire()
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let worker_state = Arc::clone(&state);
    match tokio::task::spawn_blocking(move || analyse(&worker_state, &upload)).await {
        Ok(result) => result.map(Json),
        Err(e) => {
            log::error!("serve: analysing a clip failed: {e}");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error while analysing the clip",
            ))
        }
    }
}

struct Upload {
    bytes: Bytes,
    content_type: String,
    file_name: Option<String>,
}

/// Reads the whole body, up to `max` bytes. A larger body (declared or actual) is a 413; the
/// rest of it is read and dropped (within bounds) so that clients which send the whole body
/// before reading the answer see the 413 rather than a reset connection.
async fn read_body(body: Body, headers: &HeaderMap, max: usize) -> Result<Bytes, ApiError> {
    let too_large = |n: Option<u64>| {
        let size = n.map_or(String::new(), |n| format!(" ({:.1} MB)", mb(n)));
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the upload is too large{size}: this server accepts at most {:.1} MB",
                mb(max as u64)
            ),
        )
    };
    let declared = header_str(headers, header::CONTENT_LENGTH)
        .parse::<u64>()
        .ok();
    if let Some(n) = declared.filter(|&n| n > max as u64) {
        // A client waiting for `100 Continue` has sent nothing; one that declares far more than
        // the drain budget is answered at once (and the connection closed).
        let waits = header_str(headers, header::EXPECT).eq_ignore_ascii_case("100-continue");
        if !waits && n <= drain_budget(max) as u64 {
            drain(body, max).await;
        }
        return Err(too_large(declared));
    }
    let mut body = body;
    let mut buf: Vec<u8> = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > max {
                drain(body, max).await;
                return Err(too_large(None));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// How much of an oversized body is read and dropped: `8 * max` bytes, at least 64 MB.
fn drain_budget(max: usize) -> usize {
    max.saturating_mul(8).max(64 << 20)
}

/// Reads and drops what is left of a body, up to [`drain_budget`] bytes within 10 s.
async fn drain(mut body: Body, max: usize) {
    let budget = drain_budget(max);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen += data.len();
                if seen > budget {
                    break;
                }
            }
        }
    })
    .await;
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The first file field of a multipart body (a part with a file name, else one named `file`
/// or `audio`).
async fn file_from_multipart(req: Request) -> Result<Upload, ApiError> {
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("bad multipart body: {}", e.body_text())))?;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request(format!("bad multipart body: {}", e.body_text())))?;
        let Some(field) = field else {
            return Err(ApiError::bad_request(
                "the multipart body has no file field: send the audio as a field named `file`",
            ));
        };
        let is_file =
            field.file_name().is_some() || matches!(field.name(), Some("file") | Some("audio"));
        if !is_file {
            continue;
        }
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::bad_request(format!("bad multipart body: {}", e.body_text())))?;
        return Ok(Upload {
            bytes,
            content_type,
            file_name,
        });
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// `type/subtype`, lower case, without parameters.
fn mime_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Content types that no audio file is sent as. Unknown, generic (`application/octet-stream`,
/// curl's default form type) and missing ones are decoded and judged by their bytes.
fn clearly_not_audio(content_type: &str) -> bool {
    let essence = mime_essence(content_type);
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    matches!(
        kind,
        "text" | "image" | "video" | "font" | "model" | "message"
    ) || (kind == "application"
        && matches!(
            sub,
            "json"
                | "xml"
                | "pdf"
                | "zip"
                | "gzip"
                | "x-tar"
                | "javascript"
                | "x-javascript"
                | "msword"
                | "vnd.openxmlformats-officedocument.wordprocessingml.document"
        ))
}

/// The file extension to hint the decoder with: from the file name, else the content type.
fn extension_hint(upload: &Upload) -> &'static str {
    let from_name = upload
        .file_name
        .as_deref()
        .and_then(|n| Path::new(n).extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match from_name.as_deref() {
        Some("flac") => return "flac",
        Some("wav" | "wave") => return "wav",
        _ => {}
    }
    match mime_essence(&upload.content_type).as_str() {
        "audio/flac" | "audio/x-flac" => "flac",
        _ => "wav",
    }
}

/// Decodes and predicts one upload (on a blocking thread).
fn analyse(state: &AppState, upload: &Upload) -> Result<Value, ApiError> {
    let internal = |e: std::io::Error| {
        log::error!("serve: cannot stage the upload: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot stage the upload on the server",
        )
    };
    let mut file = tempfile::Builder::new()
        .prefix("ser-upload-")
        .suffix(&format!(".{}", extension_hint(upload)))
        .tempfile()
        .map_err(internal)?;
    file.write_all(&upload.bytes).map_err(internal)?;
    file.flush().map_err(internal)?;
    let path = file.path();

    let audio_error = |e: AudioError| match e {
        AudioError::Open(io) => internal(io),
        other => {
            let essence = mime_essence(&upload.content_type);
            let known = matches!(
                essence.as_str(),
                "audio/wav"
                    | "audio/x-wav"
                    | "audio/wave"
                    | "audio/vnd.wave"
                    | "audio/flac"
                    | "audio/x-flac"
            );
            if essence.starts_with("audio/") && !known {
                ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!("{essence} is not supported: send a WAV or FLAC file ({other})"),
                )
            } else {
                ApiError::bad_request(other.to_string())
            }
        }
    };
    let too_long = |seconds: f64| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the clip is {seconds:.1} s long: this server analyses at most {} s",
                state.max_duration_s
            ),
        )
    };
    let header = audio::read_header(path).map_err(audio_error)?;
    if let Some(seconds) = header.duration_s() {
        if seconds > state.max_duration_s {
            return Err(too_long(seconds));
        }
    }
    let audio = audio::decode(path).map_err(audio_error)?;
    drop(file);
    let duration = audio.duration_s();
    if duration > state.max_duration_s {
        return Err(too_long(duration));
    }
    let prediction = state
        .predictor
        .predict_audio(audio)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")))?;
    let probabilities: Map<String, Value> = prediction
        .probabilities
        .iter()
        .map(|(label, p)| (label.clone(), json!(p)))
        .collect();
    Ok(json!({
        "emotion": prediction.emotion,
        "probabilities": probabilities,
        "model": state.predictor.model,
        "duration_s": prediction.duration_s,
        "sample_rate": header.sample_rate,
        "channels": header.channels,
        "speaker_statistics": prediction.speaker_statistics,
    }))
}

fn model_info(
    predictor: &Predictor,
    metrics: Vec<Value>,
    metrics_path: Option<&Path>,
    metrics_error: Option<String>,
    max_body: usize,
    max_duration_s: f64,
) -> Value {
    let card = predictor.card();
    // The configured families, in column order, with their column counts (names such as
    // `log_mel` or `mfcc_delta` have underscores, so the columns' first word would not do).
    let params = &card.config.features;
    let groups: Vec<(String, usize)> = params
        .families
        .iter()
        .map(|&f| (f.name().to_owned(), params.dims(f) * params.stats.len()))
        .collect();
    // An ensemble's members share the features and the run; each has its own rows.
    let members: Vec<Value> = if predictor.model == "ensemble" {
        predictor
            .cards()
            .map(|c| {
                json!({
                    "model": c.model,
                    "segment_seconds": c.config.features.segment_seconds,
                    "segment_hop_seconds": c.config.features.segment_scale().map(|s| s.hop()),
                    "n_train": c.n_train,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "model": predictor.model,
        "members": members,
        "version": card.version,
        "dir": predictor.dir.display().to_string(),
        "labels": card.labels,
        "n_features": card.feature_names.len(),
        "feature_names": card.feature_names,
        "feature_groups": groups
            .iter()
            .map(|(name, count)| json!({ "name": name, "count": count }))
            .collect::<Vec<_>>(),
        "n_train": card.n_train,
        "n_augmented": card.n_augmented,
        "sample_rate": card.config.audio.sample_rate,
        "needs_speaker_groups": predictor.needs_speaker_groups(),
        "speaker_normalization": predictor.speaker_normalised(),
        "metrics": metrics,
        "metrics_source": metrics_path.map(|p| shown_path(p).display().to_string()),
        "metrics_error": metrics_error,
        "limits": {
            "max_upload_bytes": max_body,
            "max_duration_s": max_duration_s,
        },
    })
}

/// `path` relative to the working directory when it is inside it.
fn shown_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// `metrics.csv` of the run that trained the model: `config.data.reports_dir` as saved in the
/// card. A relative folder is relative to where the pipeline ran, which is found from the model
/// folder (`<base>/<out_dir>/models/<name>`), else taken to be the working directory.
fn find_metrics(card: &ModelCard<Config>, model_dir: &Path) -> Option<PathBuf> {
    let reports = &card.config.data.reports_dir;
    let mut candidates = Vec::new();
    if reports.is_absolute() {
        candidates.push(reports.join("metrics.csv"));
    } else {
        if let Some(base) = run_base(model_dir, &card.config.data.out_dir) {
            candidates.push(base.join(reports).join("metrics.csv"));
        }
        candidates.push(reports.join("metrics.csv"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The folder the pipeline ran in, if `model_dir` is `<base>/<out_dir>/models/<name>`.
fn run_base(model_dir: &Path, out_dir: &Path) -> Option<PathBuf> {
    let models = std::path::absolute(model_dir).ok()?.parent()?.to_path_buf();
    if models.file_name()? != "models" {
        return None;
    }
    let out = models.parent()?;
    if out_dir.is_absolute() {
        return None;
    }
    let parts: Vec<&std::ffi::OsStr> = out_dir
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let mut base = out.to_path_buf();
    for part in parts.iter().rev() {
        if base.file_name()? != *part {
            return None;
        }
        base.pop();
    }
    Some(base)
}

/// The `fold == "mean"` rows of `model`, every other column kept (numbers as numbers, empty as
/// null).
fn read_metrics(path: &Path, model: &str) -> Result<Vec<Value>> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("cannot read metrics {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("cannot read metrics {}", path.display()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(model_col), Some(fold_col)) = (col("model"), col("fold")) else {
        bail!("metrics {}: no `model` and `fold` columns", path.display());
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("cannot read metrics {}", path.display()))?;
        if record.get(model_col) != Some(model) || record.get(fold_col) != Some("mean") {
            continue;
        }
        let mut row = Map::new();
        for (i, (name, value)) in headers.iter().zip(record.iter()).enumerate() {
            if i == model_col || i == fold_col {
                continue;
            }
            row.insert(name.to_owned(), cell(name, value));
        }
        rows.push(Value::Object(row));
    }
    Ok(rows)
}

fn cell(name: &str, value: &str) -> Value {
    if value.is_empty() {
        return Value::Null;
    }
    if matches!(name, "protocol" | "weakest_class" | "classes") {
        return json!(value);
    }
    match value {
        "true" => return json!(true),
        "false" => return json!(false),
        _ => {}
    }
    if let Ok(n) = value.parse::<i64>() {
        return json!(n);
    }
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() => json!(x),
        _ => json!(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_base_strips_out_dir_and_models() {
        let base = std::path::absolute("ws").unwrap();
        assert_eq!(
            run_base(&base.join("out/models/mlp"), Path::new("out")),
            Some(base.clone())
        );
        assert_eq!(
            run_base(&base.join("a/b/models/mlp"), Path::new("./a/b")),
            Some(base.clone())
        );
        assert_eq!(
            run_base(&base.join("data/models/mlp"), Path::new("out")),
            None
        );
        assert_eq!(run_base(&base.join("data/mlp"), Path::new("data")), None);
    }

    #[test]
    fn content_types() {
        assert!(clearly_not_audio("text/plain; charset=utf-8"));
        assert!(clearly_not_audio("application/json"));
        assert!(clearly_not_audio("image/png"));
        assert!(!clearly_not_audio("audio/wav"));
        assert!(!clearly_not_audio("application/octet-stream"));
        assert!(!clearly_not_audio("application/x-www-form-urlencoded"));
        assert!(!clearly_not_audio(""));
    }

    #[test]
    fn metrics_keep_the_mean_rows_of_one_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        std::fs::write(
            &path,
            "protocol,model,fold,n_test,accuracy,accuracy_std,weakest_class,all_pass\n\
             random,mlp,1,10,0.5,,sad,false\n\
             random,mlp,mean,10,0.5,0.01,sad,false\n\
             random,logistic_regression,mean,10,0.4,0.02,calm,false\n",
        )
        .unwrap();
        let rows = read_metrics(&path, "mlp").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["protocol"], "random");
        assert_eq!(rows[0]["n_test"], 10);
        assert_eq!(rows[0]["accuracy"], 0.5);
        assert_eq!(rows[0]["weakest_class"], "sad");
        assert_eq!(rows[0]["all_pass"], false);
        assert!(rows[0].get("model").is_none());
    }
}
