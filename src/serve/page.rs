//! The page: `index.html`, `app.js` and `style.css` from `page/`, embedded in the binary and
//! served with a content security policy that allows nothing from elsewhere.

use axum::http::header;
use axum::response::{IntoResponse, Response};

pub(super) const INDEX_HTML: &str = include_str!("page/index.html");
pub(super) const APP_JS: &str = include_str!("page/app.js");
pub(super) const STYLE_CSS: &str = include_str!("page/style.css");

/// The page's only sources are itself (no CDN); recordings play from `blob:` URLs.
const CSP: &str = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; \
                   style-src 'self'; script-src 'self'; connect-src 'self'; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(super) fn asset(content_type: &'static str, body: &'static str) -> Response {
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
