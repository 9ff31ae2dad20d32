//! The rules for text people type (titles, descriptions, comments, notices,
//! profile fields): a length in characters and no control characters but
//! the line breaks a field allows. Each crate turns a [`TextProblem`] into
//! its own `invalid_field` error.

/// A field's value broke a rule; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TextProblem(pub String);

/// At most `max` characters, no control characters (but `\n` when
/// `newlines`).
pub fn plain_text(name: &str, s: &str, max: usize, newlines: bool) -> Result<(), TextProblem> {
    if s.chars().count() > max {
        return Err(TextProblem(format!("{name}: at most {max} characters")));
    }
    if s.chars()
        .any(|c| c.is_control() && !(newlines && c == '\n'))
    {
        return Err(TextProblem(format!(
            "{name}: control characters are not allowed"
        )));
    }
    Ok(())
}

/// The first `max` characters of `text` on one line, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Trims `text` and checks it is 1..=`max` characters of plain text
/// (newlines and tabs allowed; `\r\n` becomes `\n`).
pub fn clean_text(name: &str, text: &str, max: usize) -> Result<String, TextProblem> {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(TextProblem(format!(
            "{name}: must have 1 to {max} characters (it has {chars} after trimming)"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(TextProblem(format!(
            "{name}: control characters are not allowed"
        )));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters_and_controls_are_refused() {
        assert!(plain_text("title", "Ünïcødé", 7, false).is_ok());
        assert!(plain_text("title", "Ünïcødé!", 7, false).is_err());
        assert!(plain_text("title", "a\nb", 10, false).is_err());
        assert!(plain_text("bio", "a\nb", 10, true).is_ok());
        assert!(plain_text("bio", "a\u{7}b", 10, true).is_err());
    }

    #[test]
    fn clean_text_trims_and_needs_something() {
        assert_eq!(
            clean_text("body", "  hi\r\nthere\t ", 20),
            Ok("hi\nthere".into())
        );
        let e = clean_text("body", "   ", 20).err().map(|e| e.0);
        assert_eq!(
            e.as_deref(),
            Some("body: must have 1 to 20 characters (it has 0 after trimming)")
        );
        assert!(clean_text("body", "a\u{0}b", 20).is_err());
        assert!(clean_text("body", "a\tb", 20).is_ok());
    }

    #[test]
    fn an_excerpt_is_one_line_and_cut_with_an_ellipsis() {
        assert_eq!(excerpt("a\n b", 10), "a b");
        assert_eq!(excerpt("abcdef", 4), "abc…");
        assert_eq!(excerpt("abcd", 4), "abcd");
    }
}
