//! InfluxDB line protocol for reactions, and the schema it writes.
//!
//! Each reaction becomes two points, one per read path, so that per-user and per-article
//! queries each read a handful of series through the tag index:
//!
//! ```text
//! reactions_by_user,user_id=<tag id>,behavior=like article_id="<id>" <time ns>
//! reactions_by_article,article_id=<tag id>,behavior=like user_id="<id>" <time ns>
//! ```
//!
//! A series is (measurement, id tag, behavior), so cardinality grows with the number of users
//! and articles (at most four series each), never with their product.

use std::borrow::Cow;

use influxdb_line_protocol::LineProtocolBuilder;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::{Id, Reaction};

pub const USER_MEASUREMENT: &str = "reactions_by_user";
pub const ARTICLE_MEASUREMENT: &str = "reactions_by_article";
pub const USER_ID: &str = "user_id";
pub const ARTICLE_ID: &str = "article_id";
pub const BEHAVIOR: &str = "behavior";

/// Characters that are percent-encoded in tag values. InfluxDB 1.x keeps a backslash in a tag
/// value literally, does not unescape `\\`, and rejects a value that ends in one, while 2.x
/// unescapes it, so no escaping of a backslash survives every version. Encoding these bytes
/// leaves tag values that need no line-protocol escaping at all. `%` is encoded so that the
/// mapping stays one-to-one. Fields carry the exact id, where `\\` and `\"` escapes are the
/// same in every version.
const TAG_RESERVED: &AsciiSet = &CONTROLS
    .add(b'%')
    .add(b'\\')
    .add(b',')
    .add(b'=')
    .add(b' ')
    .add(b'"');

/// Returns the tag form of an id: the id itself unless it contains a reserved character.
pub fn tag_value(id: &Id) -> Cow<'_, str> {
    utf8_percent_encode(id.as_str(), TAG_RESERVED).into()
}

/// Appends the two points of every reaction to `out`, one line each, with nanosecond times.
pub fn encode_batch(reactions: &[Reaction], out: Vec<u8>) -> Vec<u8> {
    let mut builder = LineProtocolBuilder::new_with(out);

    for reaction in reactions {
        let time = reaction.time_nanos();
        let behavior = reaction.behavior.as_str();

        builder = builder
            .measurement(USER_MEASUREMENT)
            .tag(USER_ID, &tag_value(&reaction.user_id))
            .tag(BEHAVIOR, behavior)
            .field(ARTICLE_ID, reaction.article_id.as_str())
            .timestamp(time)
            .close_line();

        builder = builder
            .measurement(ARTICLE_MEASUREMENT)
            .tag(ARTICLE_ID, &tag_value(&reaction.article_id))
            .tag(BEHAVIOR, behavior)
            .field(USER_ID, reaction.user_id.as_str())
            .timestamp(time)
            .close_line();
    }

    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Behavior, Timestamp};

    #[test]
    fn plain_ids_are_their_own_tags() {
        let id = Id::parse("u-42").unwrap();
        assert_eq!(tag_value(&id), "u-42");
    }

    #[test]
    fn reserved_characters_are_encoded() {
        let id = Id::parse(r#"a b,c=d\e"f%g"#).unwrap();
        assert_eq!(tag_value(&id), "a%20b%2Cc%3Dd%5Ce%22f%25g");
    }

    #[test]
    fn encodes_two_points_per_reaction() {
        let reaction = Reaction::with_client_time(
            Id::parse("u-42").unwrap(),
            Id::parse("a-7").unwrap(),
            Behavior::Like,
            Timestamp::from_millis(1_000),
        );
        let text =
            String::from_utf8(encode_batch(std::slice::from_ref(&reaction), Vec::new())).unwrap();
        let time = reaction.time_nanos();
        assert_eq!(
            text,
            format!(
                "reactions_by_user,user_id=u-42,behavior=like article_id=\"a-7\" {time}\n\
                 reactions_by_article,article_id=a-7,behavior=like user_id=\"u-42\" {time}\n"
            )
        );
    }
}
