//! Quoting for the only two places where outside text enters an InfluxQL statement: string
//! literals and identifiers. Every id and name goes through these functions.

/// Returns `value` as a single-quoted InfluxQL string literal.
///
/// The InfluxQL scanner reads `\\`, `\'`, `\"` and `\n` inside quotes and rejects any other
/// escape and any raw newline, so backslash, quote and newline are escaped, and every other
/// character stands for itself.
pub fn string_literal(value: &str) -> String {
    quote(value, '\'')
}

/// Returns `name` as a double-quoted InfluxQL identifier, for database and measurement names.
pub fn identifier(name: &str) -> String {
    quote(name, '"')
}

fn quote(value: &str, delimiter: char) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push(delimiter);

    for c in value.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c if c == delimiter => {
                quoted.push('\\');
                quoted.push(c);
            }
            c => quoted.push(c),
        }
    }

    quoted.push(delimiter);
    quoted
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Reads a quoted string the way the InfluxQL scanner does, returning the value and the
    /// text after the closing quote, or `None` where the scanner would fail.
    fn scan(text: &str, delimiter: char) -> Option<(String, &str)> {
        let mut chars = text.char_indices();
        if chars.next()?.1 != delimiter {
            return None;
        }

        let mut value = String::new();
        while let Some((at, c)) = chars.next() {
            match c {
                '\n' => return None,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    escaped @ ('\\' | '\'' | '"') => value.push(escaped),
                    _ => return None,
                },
                c if c == delimiter => return Some((value, &text[at + c.len_utf8()..])),
                c => value.push(c),
            }
        }
        None
    }

    #[test]
    fn injection_attempts_stay_inside_the_literal() {
        for value in [
            "x' OR 'a'='a",
            "x\\",
            "'; DROP MEASUREMENT reactions_by_user; --",
            "\\'",
            "a\nb",
        ] {
            let quoted = string_literal(value);
            assert_eq!(
                scan(&quoted, '\''),
                Some((value.to_owned(), "")),
                "{value:?} quoted as {quoted}"
            );
        }
    }

    proptest! {
        #[test]
        fn string_literal_round_trips(value in any::<String>()) {
            let quoted = string_literal(&value);
            prop_assert_eq!(scan(&quoted, '\''), Some((value, "")));
        }

        #[test]
        fn identifier_round_trips(name in any::<String>()) {
            let quoted = identifier(&name);
            prop_assert_eq!(scan(&quoted, '"'), Some((name, "")));
        }
    }
}
