//! Property tests: every valid reaction encodes to line protocol that the
//! `influxdb-line-protocol` parser reads back to the same values.

use influxdb_line_protocol::{FieldValue, parse_lines};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use shared::line_protocol::{
    ARTICLE_ID, ARTICLE_MEASUREMENT, BEHAVIOR, USER_ID, USER_MEASUREMENT, encode_batch,
};
use shared::{Behavior, Id, Reaction, Timestamp};

/// Ids built from the characters most likely to break an encoder, plus any non-control
/// character, within the 128-byte limit.
fn id_strategy() -> impl Strategy<Value = Id> {
    let tricky = prop::sample::select(vec![
        ' ', ',', '=', '"', '\'', '\\', '%', '#', '\u{a0}', 'é', '日', '🙂', 'x', '0',
    ]);
    let any_char = any::<char>().prop_filter("no control characters", |c| !c.is_control());
    let one_char = prop_oneof![3 => tricky, 1 => any_char];

    prop::collection::vec(one_char, 1..40)
        .prop_map(|chars| chars.into_iter().collect::<String>())
        .prop_filter_map("at most 128 bytes", |text| Id::parse(text).ok())
}

fn reaction_strategy() -> impl Strategy<Value = Reaction> {
    let behavior = prop::sample::select(Behavior::ALL.to_vec());
    // 2000-01-01 to 2100-01-01 in milliseconds.
    let millis = 946_684_800_000_i64..4_102_444_800_000_i64;

    (id_strategy(), id_strategy(), behavior, millis).prop_map(
        |(user, article, behavior, millis)| {
            Reaction::with_client_time(user, article, behavior, Timestamp::from_millis(millis))
        },
    )
}

fn string_field(line: &influxdb_line_protocol::ParsedLine<'_>, key: &str) -> String {
    match line.field_value(key) {
        Some(FieldValue::String(value)) => value.to_string(),
        other => panic!("field {key} is {other:?}, expected a string"),
    }
}

fn decoded_tag(line: &influxdb_line_protocol::ParsedLine<'_>, key: &str) -> String {
    let raw = line
        .tag_value(key)
        .unwrap_or_else(|| panic!("tag {key} missing"))
        .to_string();
    percent_decode_str(&raw)
        .decode_utf8()
        .expect("tag is percent-encoded UTF-8")
        .into_owned()
}

proptest! {
    #[test]
    fn reactions_round_trip_through_the_parser(reactions in prop::collection::vec(reaction_strategy(), 1..8)) {
        let encoded = String::from_utf8(encode_batch(&reactions, Vec::new())).unwrap();
        let lines: Vec<_> = parse_lines(&encoded).collect::<Result<_, _>>().map_err(|error| {
            TestCaseError::fail(format!("parser rejected {encoded:?}: {error}"))
        })?;

        prop_assert_eq!(lines.len(), reactions.len() * 2);

        for (reaction, pair) in reactions.iter().zip(lines.chunks(2)) {
            let (by_user, by_article) = (&pair[0], &pair[1]);

            prop_assert_eq!(by_user.series.measurement.to_string(), USER_MEASUREMENT);
            prop_assert_eq!(decoded_tag(by_user, USER_ID), reaction.user_id.as_str());
            prop_assert_eq!(decoded_tag(by_user, BEHAVIOR), reaction.behavior.as_str());
            prop_assert_eq!(string_field(by_user, ARTICLE_ID), reaction.article_id.as_str());
            prop_assert_eq!(by_user.timestamp, Some(reaction.time_nanos()));

            prop_assert_eq!(by_article.series.measurement.to_string(), ARTICLE_MEASUREMENT);
            prop_assert_eq!(decoded_tag(by_article, ARTICLE_ID), reaction.article_id.as_str());
            prop_assert_eq!(decoded_tag(by_article, BEHAVIOR), reaction.behavior.as_str());
            prop_assert_eq!(string_field(by_article, USER_ID), reaction.user_id.as_str());
            prop_assert_eq!(by_article.timestamp, Some(reaction.time_nanos()));
        }
    }

    #[test]
    fn tag_values_need_no_escaping(id in id_strategy()) {
        let tag = shared::line_protocol::tag_value(&id);
        prop_assert!(!tag.contains(['\\', ',', '=', ' ', '"']), "tag {tag:?} of {id:?}");
    }
}
