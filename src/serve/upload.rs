//! Reading an upload: the body within the size limit (a larger one is answered 413 after
//! draining it), the file field of a multipart form, and what its content type and name say.

use std::path::Path;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;

use super::error::ApiError;

pub(super) struct Upload {
    pub(super) bytes: Bytes,
    pub(super) content_type: String,
    pub(super) file_name: Option<String>,
}

/// Reads the whole body, up to `max` bytes. A larger body (declared or actual) is a 413; the
/// rest of it is read and dropped (within bounds) so that clients which send the whole body
/// before reading the answer see the 413 rather than a reset connection.
pub(super) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    max: usize,
) -> Result<Bytes, ApiError> {
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
pub(super) async fn file_from_multipart(req: Request) -> Result<Upload, ApiError> {
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

pub(super) fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// `type/subtype`, lower case, without parameters.
pub(super) fn mime_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Content types that no audio file is sent as. Unknown, generic (`application/octet-stream`,
/// curl's default form type) and missing ones are decoded and judged by their bytes.
pub(super) fn clearly_not_audio(content_type: &str) -> bool {
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
pub(super) fn extension_hint(upload: &Upload) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
