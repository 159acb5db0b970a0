//! User and article ids: opaque client strings that must come back byte for byte.

use std::fmt;

use serde::Serialize;

/// Maximum length of an id in bytes of UTF-8.
pub const MAX_ID_BYTES: usize = 128;

/// A validated user or article id: non-empty UTF-8 of at most [`MAX_ID_BYTES`] bytes with no
/// control characters. Every other character (spaces, commas, quotes, backslashes, `=`, any
/// script, emoji) is allowed, so the encoders must escape them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Id(String);

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("is {0} bytes long; the maximum is 128 bytes of UTF-8")]
    TooLong(usize),
    #[error(
        "contains the control character U+{0:04X} at byte {1}; control characters are not allowed"
    )]
    ControlCharacter(u32, usize),
}

impl Id {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        check(&value)?;
        Ok(Id(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check(value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty);
    }

    if value.len() > MAX_ID_BYTES {
        return Err(IdError::TooLong(value.len()));
    }

    // `char::is_control` covers C0, DEL and C1, the characters that would break line protocol,
    // logs and terminals.
    match value.char_indices().find(|(_, c)| c.is_control()) {
        Some((at, c)) => Err(IdError::ControlCharacter(c as u32, at)),
        None => Ok(()),
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_special_characters() {
        for value in ["u 1", "a,b=c", "q\"'\\", "日本語", "🙂", "x' OR 'a'='a"] {
            assert_eq!(Id::parse(value).unwrap().as_str(), value);
        }
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(Id::parse(""), Err(IdError::Empty));
    }

    #[test]
    fn rejects_over_128_bytes() {
        assert!(Id::parse("é".repeat(64)).is_ok());
        assert_eq!(Id::parse("é".repeat(65)), Err(IdError::TooLong(130)));
    }

    #[test]
    fn rejects_control_characters() {
        assert_eq!(Id::parse("a\nb"), Err(IdError::ControlCharacter(0x0A, 1)));
        assert_eq!(Id::parse("\u{7f}"), Err(IdError::ControlCharacter(0x7F, 0)));
        assert_eq!(
            Id::parse("x\u{85}"),
            Err(IdError::ControlCharacter(0x85, 1))
        );
    }
}
