//! What partners may receive: email addresses only of users who
//! opted in to third-party contact, never of minors, never unverified
//! addresses. Withdrawing consent removes the user from the next list; ad
//! audiences (`/api/v1/ads/audiences`) already leave out users without
//! ad consent, and their past ad-interest rows are deleted on withdrawal.

use sqlx::PgPool;

use crate::PrivacyError;

/// `(username, email)` of every user partners may contact, by username.
pub async fn partner_contacts(pool: &PgPool) -> Result<Vec<(String, String)>, PrivacyError> {
    Ok(sqlx::query_as(
        "SELECT username, email FROM users
          WHERE third_party_consent AND NOT is_minor
            AND email_verified_at IS NOT NULL
          ORDER BY lower(username)",
    )
    .fetch_all(pool)
    .await?)
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
/// break. A leading `=`, `+`, `-` or `@` is prefixed with `'` so that a
/// spreadsheet does not run it as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("dj_one"), "dj_one");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
