//! The comment filter (comments must not hold "obscenity, defamation or abusive
//! language"). It only decides whether a new comment is published at once or
//! held for an administrator; it never rewrites what the user wrote.
//!
//! `rustrict` sees through spacing, punctuation, look-alike characters and
//! self-censoring ("f.u.c.k", "sh1t", "c*nt") and keeps lists of innocent
//! words that contain bad ones ("Scunthorpe", "class", "assessment").
//! Held: obscene (profane or sexual) and offensive language of moderate
//! severity or worse, and severely mean language (threats, "kill yourself").
//! Published: mild words ("crap", "damn") and plain rudeness ("loser"),
//! which listeners can still report. Defamation needs a person's judgement:
//! reports bring it to an administrator.

use rustrict::{Censor, Type};

/// What the filter decided about a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// Held for review; the reason names the categories found, for the
    /// moderator (for example `filter: obscene, abusive`).
    Held(String),
}

/// Each category the filter holds a comment for, and its threshold.
fn categories() -> [(&'static str, Type); 3] {
    [
        (
            "obscene",
            (Type::PROFANE | Type::SEXUAL) & Type::MODERATE_OR_HIGHER,
        ),
        ("offensive", Type::OFFENSIVE & Type::MODERATE_OR_HIGHER),
        ("abusive", Type::MEAN & Type::SEVERE),
    ]
}

/// Checks a comment's text (pure: no I/O, no state).
pub fn check(text: &str) -> Verdict {
    let found = Censor::from_str(text).analyze();
    let reasons: Vec<&str> = categories()
        .into_iter()
        .filter(|(_, threshold)| found.is(*threshold))
        .map(|(name, _)| name)
        .collect();
    if reasons.is_empty() {
        Verdict::Clean
    } else {
        Verdict::Held(format!("filter: {}", reasons.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(text: &str) -> bool {
        matches!(check(text), Verdict::Held(_))
    }

    #[test]
    fn ordinary_comments_pass() {
        for text in [
            "Great mix, loved the transition at 12:30!",
            "Scunthorpe represent",
            "A masterclass in deep house",
            "My assessment: the bassline carries it",
            "Classic tracks, cocktail hour vibes",
            "Recorded at the Arsenal ground in Essex?",
            "this mix is crap",
            "damn good",
            "loser",
            "",
        ] {
            assert_eq!(check(text), Verdict::Clean, "{text:?}");
        }
    }

    #[test]
    fn obscene_words_and_their_disguises_are_held() {
        for text in [
            "fuck this",
            "f.u.c.k",
            "f u c k",
            "f*ck",
            "fck this",
            "sh1t mix",
            "sh!t",
            "what a c*nt",
            "porn",
        ] {
            assert!(held(text), "{text:?} should be held");
        }
        assert_eq!(
            check("you piece of shit"),
            Verdict::Held("filter: obscene".into())
        );
    }

    #[test]
    fn abuse_and_slurs_are_held_and_named() {
        let Verdict::Held(reason) = check("kill yourself") else {
            panic!("a threat passed the filter");
        };
        assert!(reason.contains("abusive"), "{reason}");
        assert!(held("kys"));
        let Verdict::Held(reason) = check("you retard") else {
            panic!("a slur passed the filter");
        };
        assert!(reason.contains("offensive"), "{reason}");
        assert!(held("go away bastard"));
    }
}
