//! Reads a request body into JSON values: content type, compression, size limits and syntax.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use flate2::read::GzDecoder;
use serde_json::Value;

use crate::error::ApiError;

/// The two body formats ingest accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One reaction object, or an array of them.
    Json,
    /// One reaction object per line.
    NdJson,
}

/// Reads the format from `Content-Type`. A charset parameter is allowed if it is UTF-8, the
/// only encoding JSON may use between systems (RFC 8259).
pub fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedContentType("(missing)".to_owned()));
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::UnsupportedContentType("(not ASCII)".to_owned()))?;
    let parsed: mime::Mime = text
        .parse()
        .map_err(|_| ApiError::UnsupportedContentType(format!("{text:?}")))?;

    if let Some(charset) = parsed.get_param(mime::CHARSET)
        && !charset.as_str().eq_ignore_ascii_case("utf-8")
    {
        return Err(ApiError::UnsupportedContentType(format!(
            "{text:?} (only charset=utf-8)"
        )));
    }

    match parsed.essence_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson" => Ok(Format::NdJson),
        _ => Err(ApiError::UnsupportedContentType(format!("{text:?}"))),
    }
}

/// Reads the body, at most `limit` bytes before and after gzip decompression.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .map(|value| value.to_str())
    {
        None => false,
        Some(Ok(value)) if value.trim().eq_ignore_ascii_case("identity") => false,
        Some(Ok(value)) if value.trim().eq_ignore_ascii_case("gzip") => true,
        Some(value) => {
            return Err(ApiError::UnsupportedContentEncoding(
                value.unwrap_or("(not ASCII)").to_owned(),
            ));
        }
    };

    let raw = axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::BodyTooLarge { limit }
        } else {
            ApiError::Malformed(format!("could not read the body: {error}"))
        }
    })?;

    if gzip {
        gunzip(&raw, limit).map(Bytes::from)
    } else {
        Ok(raw)
    }
}

/// Decompresses at most `limit` bytes, so that a small compressed body cannot expand without
/// bound.
fn gunzip(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut output = Vec::new();
    let mut decoder = GzDecoder::new(compressed).take(limit as u64 + 1);
    decoder
        .read_to_end(&mut output)
        .map_err(|error| ApiError::Malformed(format!("invalid gzip data: {error}")))?;

    if output.len() > limit {
        return Err(ApiError::BodyTooLarge { limit });
    }
    Ok(output)
}

/// Parses the body into one value per reaction.
pub fn parse_items(body: &[u8], format: Format) -> Result<Vec<Value>, ApiError> {
    match format {
        Format::Json => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => Ok(items),
            Ok(item) => Ok(vec![item]),
            Err(error) => Err(ApiError::Malformed(format!("invalid JSON: {error}"))),
        },
        Format::NdJson => body
            .split(|byte| *byte == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .map(|(number, line)| {
                serde_json::from_slice::<Value>(line).map_err(|error| {
                    ApiError::Malformed(format!("invalid JSON on line {}: {error}", number + 1))
                })
            })
            .collect(),
    }
}
