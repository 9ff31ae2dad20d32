//! `@username` mentions in a comment: picked out for the page (linked to
//! profiles) and for the notifications (the people named hear of it).

/// A piece of a comment's text: words, or an `@username` linked to its page.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Mention(String),
}

/// `text` with its `@username` mentions picked out (a name of 3 to 30
/// letters, digits, `_`, `.` or `-`, not inside a word or an address; a
/// final `.` or `-` ends the sentence, not the name).
pub fn mentions(text: &str) -> Vec<Piece> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .or_else(|| plain.chars().next_back())
            .is_none_or(|c| !c.is_alphanumeric());
        let after = &rest[at + 1..];
        let len = after.find(|c: char| !name_char(c)).unwrap_or(after.len());
        let name = after[..len].trim_end_matches(['.', '-']);
        if before_ok && (3..=30).contains(&name.len()) {
            plain.push_str(&rest[..at]);
            if !plain.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut plain)));
            }
            out.push(Piece::Mention(name.to_owned()));
            rest = &after[name.len()..];
        } else {
            plain.push_str(&rest[..=at]);
            rest = after;
        }
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        out.push(Piece::Text(plain));
    }
    out
}

/// The distinct names `text` mentions, in order, at most `max`.
pub fn names(text: &str, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in mentions(text) {
        if let Piece::Mention(m) = p
            && !out.iter().any(|o| o.eq_ignore_ascii_case(&m))
        {
            out.push(m);
        }
    }
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(pieces: &[Piece]) -> Vec<String> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => format!("t:{t}"),
                Piece::Mention(m) => format!("@:{m}"),
            })
            .collect()
    }

    #[test]
    fn mentions_are_names_not_addresses() {
        assert_eq!(
            texts(&mentions("thanks @dawn_dj, and @night.owl.")),
            ["t:thanks ", "@:dawn_dj", "t:, and ", "@:night.owl", "t:."]
        );
        assert_eq!(
            texts(&mentions("mail me@example.org")),
            ["t:mail me@example.org"]
        );
        assert_eq!(
            texts(&mentions("@ab is short, @@x")),
            ["t:@ab is short, @@x"]
        );
        assert_eq!(texts(&mentions("@dj-one")), ["@:dj-one"]);
        assert!(mentions("").is_empty());
    }

    #[test]
    fn names_are_distinct_and_bounded() {
        assert_eq!(
            names("@dawn_dj @Dawn_DJ and @night.owl", 5),
            ["dawn_dj", "night.owl"]
        );
        assert_eq!(names("@aaa @bbb @ccc", 2), ["aaa", "bbb"]);
    }
}
