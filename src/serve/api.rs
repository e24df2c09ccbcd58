//! The handlers: `GET /api/model`, `POST /api/predict` (decode and judge the upload on a
//! blocking thread, within the duration limit and the work budget, and only when it holds a
//! voice) and the JSON 404 for any other path.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::upload::{
    clearly_not_audio, extension_hint, file_from_multipart, header_str, mime_essence, read_body,
    Upload,
};
use super::AppState;
use crate::audio::{self, AudioError};

pub(super) async fn not_found(req: Request) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such page: {}", req.uri().path()),
    )
    .into_response()
}

pub(super) async fn api_model(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.model_info.clone())
}

pub(super) async fn api_predict(
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
        AudioError::NoVoice(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        AudioError::OutOfRange { .. } => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string())
        }
        AudioError::TooLong { detail, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the clip is too long: {detail}; this server analyses at most {} s",
                state.max_duration_s
            ),
        ),
        AudioError::OverBudget { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        }
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
    // The header's ranges and the work budget are checked before any sample is decoded, and
    // decoding stops at --max-duration-s whatever the header declared; a clip with no voice is
    // not judged.
    let limits = audio::Limits {
        max_seconds: state.max_duration_s,
        analysis_rate: state.predictor.audio_limits().analysis_rate,
    };
    let audio = audio::decode_speech(path, &limits).map_err(audio_error)?;
    drop(file);
    let (sample_rate, channels) = (audio.sample_rate, audio.source_channels);
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
        "sample_rate": sample_rate,
        "channels": channels,
        "speaker_statistics": prediction.speaker_statistics,
    }))
}
