//! Accounts: registration (`registration.rs`), sessions and the signed-in
//! account (`sessions.rs`), the privacy policy and terms with their
//! versions (`policies.rs`), passwords (`passwords.rs`), profiles and
//! avatars (`profiles.rs`), password reset and changes of password and
//! email (`recovery.rs`), consents (`consents.rs`), the email outbox and
//! its delivery (`mail.rs`), two-step sign-in (`second_factor.rs`) and
//! passkeys (`passkeys.rs`), sign-in limits (`signin_limits.rs`) and the
//! operators' commands (`operators.rs`), and the rename of accounts whose
//! username became one of the site's addresses (`reserved.rs`).

pub mod config;
pub mod confirmation;
pub mod consents;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod operators;
pub mod passkeys;
pub mod passwords;
pub mod policies;
pub mod preferences;
pub mod profiles;
pub mod recovery;
pub mod registration;
pub mod reserved;
pub mod second_factor;
pub mod sessions;
pub mod signin_limits;

use std::sync::Arc;

use crate::config::AuthConfig;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use cloudcast_core::storage::Storage;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::AccountsError;
pub use signin_limits::SigninLimits;
/// The passkeys' relying party, for whoever builds [`AccountsState`].
pub use webauthn_rs::Webauthn;

#[derive(Clone)]
pub struct AccountsState {
    pub pool: PgPool,
    /// Avatars.
    pub storage: Storage,
    pub auth: Arc<AuthConfig>,
    /// Links in mail and the cookies' `Secure` flag are built on it.
    pub public_url: Arc<str>,
    pub max_avatar_bytes: usize,
    pub max_json_bytes: usize,
    /// Shared with every other password check (see `signin_limits.rs`).
    pub limits: SigninLimits,
    /// Shown to the owner in `/api/v1/me`.
    pub quotas: Arc<cloudcast_core::config::QuotasConfig>,
    /// Personalised ads until withdrawn (`policies.ads_opt_out`).
    pub ads_opt_out: bool,
    /// The passkeys' relying party (`passkeys.rs`); `None` when the public
    /// URL names no host.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

impl FromRef<AccountsState> for PgPool {
    fn from_ref(s: &AccountsState) -> PgPool {
        s.pool.clone()
    }
}

/// The routes and their documentation, by body limit: JSON and avatars.
fn routes() -> [OpenApiRouter<AccountsState>; 2] {
    let api = OpenApiRouter::new()
        .routes(routes!(registration::register))
        .routes(routes!(confirmation::verify_email))
        .routes(routes!(confirmation::confirm_and_sign_in))
        .routes(routes!(confirmation::resend_confirmation))
        .routes(routes!(confirmation::resend_verification))
        .routes(routes!(recovery::request_reset))
        .routes(routes!(recovery::confirm_reset))
        .routes(routes!(recovery::change_password))
        .routes(routes!(recovery::change_email))
        .routes(routes!(recovery::confirm_email_change))
        .routes(routes!(sessions::sign_in, sessions::sign_out))
        .routes(routes!(sessions::me))
        .routes(routes!(second_factor::second_step))
        .routes(routes!(second_factor::status))
        .routes(routes!(
            second_factor::begin_totp,
            second_factor::remove_totp
        ))
        .routes(routes!(second_factor::confirm_totp))
        .routes(routes!(passkeys::list, passkeys::add))
        .routes(routes!(passkeys::begin_registration))
        .routes(routes!(passkeys::remove))
        .routes(routes!(passkeys::begin_assertion))
        .routes(routes!(passkeys::answer_assertion))
        .routes(routes!(second_factor::renew_recovery_codes))
        .routes(routes!(passkeys::sign_in_challenge))
        .routes(routes!(passkeys::sign_in))
        .routes(routes!(consents::get, consents::put))
        .routes(routes!(preferences::get, preferences::put))
        .routes(routes!(policies::get_current))
        .routes(routes!(policies::get_version))
        .routes(routes!(policies::get_mine))
        .routes(routes!(policies::accept_terms))
        .routes(routes!(policies::privacy_shown))
        .routes(routes!(policies::privacy_seen))
        .routes(routes!(profiles::get_own, profiles::put_own))
        .routes(routes!(profiles::get_public))
        .routes(routes!(profiles::get_avatar));
    let avatars = OpenApiRouter::new().routes(routes!(profiles::put_avatar));
    [api, avatars]
}

/// This crate's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let [api, avatars] = routes();
    api.merge(avatars).split_for_parts().1
}

pub fn router(state: AccountsState) -> Router {
    let [api, avatars] = routes();
    let api = api
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::max(state.max_json_bytes));
    // A little over the limit so the handler can answer with its own 413.
    let avatars = avatars
        .split_for_parts()
        .0
        .layer(DefaultBodyLimit::max(state.max_avatar_bytes + 1));
    api.merge(avatars).with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudcast_core::apidoc::coverage_problems;

    /// Every route [`router`] serves.
    const SERVED: &[(&str, &str)] = &[
        ("post", "/api/v1/accounts"),
        ("get", "/api/v1/accounts/verify-email"),
        ("post", "/api/v1/accounts/confirm"),
        ("post", "/api/v1/accounts/confirmation"),
        ("post", "/api/v1/me/verification"),
        ("post", "/api/v1/accounts/password-reset"),
        ("post", "/api/v1/accounts/password-reset/confirm"),
        ("put", "/api/v1/me/password"),
        ("put", "/api/v1/me/email"),
        ("get", "/api/v1/accounts/confirm-email-change"),
        ("post", "/api/v1/sessions"),
        ("delete", "/api/v1/sessions"),
        ("post", "/api/v1/sessions/second-factor"),
        ("get", "/api/v1/me/second-factor"),
        ("post", "/api/v1/me/second-factor/totp"),
        ("delete", "/api/v1/me/second-factor/totp"),
        ("post", "/api/v1/me/second-factor/totp/confirm"),
        ("get", "/api/v1/me/passkeys"),
        ("post", "/api/v1/me/passkeys"),
        ("post", "/api/v1/me/passkeys/registration"),
        ("delete", "/api/v1/me/passkeys/{id}"),
        ("post", "/api/v1/me/passkeys/assertion"),
        ("post", "/api/v1/me/passkeys/assertion/answer"),
        ("post", "/api/v1/me/second-factor/recovery-codes"),
        ("post", "/api/v1/sessions/passkey/challenge"),
        ("post", "/api/v1/sessions/passkey"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/me/consents"),
        ("put", "/api/v1/me/consents"),
        ("get", "/api/v1/me/preferences"),
        ("put", "/api/v1/me/preferences"),
        ("get", "/api/v1/policies/{kind}"),
        ("get", "/api/v1/policies/{kind}/versions/{version}"),
        ("get", "/api/v1/me/policies"),
        ("post", "/api/v1/me/policies/terms/accept"),
        ("post", "/api/v1/me/policies/privacy/shown"),
        ("post", "/api/v1/me/policies/privacy/seen"),
        ("get", "/api/v1/me/profile"),
        ("put", "/api/v1/me/profile"),
        ("put", "/api/v1/me/avatar"),
        ("get", "/api/v1/users/{username}"),
        ("get", "/api/v1/users/{username}/avatar"),
    ];

    #[test]
    fn the_document_covers_every_route() {
        assert_eq!(
            coverage_problems(
                &api_doc(),
                SERVED,
                &["accounts", "privacy", "users", "policies"]
            ),
            Vec::<String>::new()
        );
    }
}
