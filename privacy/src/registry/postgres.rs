//! The PostgreSQL tables of the registry (`mod.rs` says what each field
//! means): accounts, the catalogue, privacy and the system.

use super::{Data, Erase, Export, Store, Table};

const fn pg(name: &'static str, data: Data) -> Table {
    Table {
        name,
        store: Store::Postgres,
        data,
    }
}

/// Kept as long as the account (or the cloudcast) is.
const WITH_ACCOUNT: &str = "while the account lives; deleted with it";

pub(super) const TABLES: &[Table] = &[
    // --- PostgreSQL: accounts ------------------------------------------
    pg(
        "users",
        Data::Personal {
            export: &[Export::Json {
                section: "account",
                one: true,
                sql: "SELECT id, username, email, birth_date, is_minor, is_admin,
                             email_verified_at, created_at, ads_consent, third_party_consent,
                             activity_private, security_contact, profile_comments, terms_version,
                             privacy_seen_version, suspended_until, no_uploads_until,
                             no_comments_until
                        FROM users WHERE id = $1",
            }],
            erase: Erase::Cascade,
            kept: "while the account lives; a sign-up never confirmed, 24 hours",
        },
    ),
    pg(
        "profiles",
        Data::Personal {
            export: &[Export::Json {
                section: "profile",
                one: true,
                sql: "SELECT real_name, city, country, gender, birth_year, bio, links, avatar_type,
                             visibility, updated_at
                        FROM profiles WHERE user_id = $1",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "consent_events",
        Data::Personal {
            export: &[Export::Json {
                section: "consent_history",
                one: false,
                sql: "SELECT kind, granted, source, reason, at FROM consent_events
                       WHERE user_id = $1 ORDER BY at, id",
            }],
            erase: Erase::Cascade,
            kept: "while the account lives (the proof of each consent)",
        },
    ),
    pg(
        "auth_tokens",
        Data::Personal {
            export: &[Export::Json {
                section: "sign_ins",
                one: false,
                sql: "SELECT a.created_at, a.expires_at, o.name AS app, a.scopes
                        FROM auth_tokens a
                        LEFT JOIN oauth_grants g ON g.id = a.grant_id
                        LEFT JOIN oauth_apps o ON o.id = g.app_id
                       WHERE a.user_id = $1 ORDER BY a.created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the session ends or expires (an app's access token: an hour)",
        },
    ),
    pg(
        "oauth_apps",
        Data::Personal {
            export: &[Export::Json {
                section: "registered_apps",
                one: false,
                sql: "SELECT client_id, name, website, redirect_uris,
                             secret_hash IS NOT NULL AS confidential, created_at
                        FROM oauth_apps WHERE owner_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the developer deletes the app; with the account, and every grant of it",
        },
    ),
    pg(
        "oauth_grants",
        Data::Personal {
            export: &[Export::Json {
                section: "connected_apps",
                one: false,
                sql: "SELECT o.name AS app, o.client_id, g.scopes, g.created_at, g.last_used_at
                        FROM oauth_grants g JOIN oauth_apps o ON o.id = g.app_id
                       WHERE g.user_id = $1 ORDER BY g.created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the person disconnects the app or it is deleted",
        },
    ),
    pg(
        "oauth_codes",
        Data::Personal {
            export: &[Export::Json {
                section: "app_authorization_codes",
                one: false,
                sql: "SELECT o.name AS app, c.scopes, c.expires_at, c.used_at
                        FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id
                        JOIN oauth_apps o ON o.id = g.app_id
                       WHERE g.user_id = $1 ORDER BY c.expires_at",
            }],
            erase: Erase::Cascade,
            kept: "a minute (single use); deleted a day after",
        },
    ),
    pg(
        "oauth_refresh_tokens",
        Data::Personal {
            export: &[Export::Json {
                section: "app_refresh_tokens",
                one: false,
                sql: "SELECT o.name AS app, r.scopes, r.created_at, r.expires_at, r.used_at
                        FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id
                        JOIN oauth_apps o ON o.id = g.app_id
                       WHERE g.user_id = $1 ORDER BY r.created_at",
            }],
            erase: Erase::Cascade,
            kept: "30 days (a used one is kept till then, so its reuse is caught), or until revoked or disconnected",
        },
    ),
    pg(
        "email_verifications",
        Data::Personal {
            export: &[Export::Json {
                section: "email_verifications",
                one: false,
                sql: "SELECT expires_at, used_at FROM email_verifications
                       WHERE user_id = $1 ORDER BY expires_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "totp_factors",
        Data::Personal {
            export: &[Export::Json {
                section: "second_factor",
                one: true,
                // Never the secret.
                sql: "SELECT created_at, confirmed_at FROM totp_factors WHERE user_id = $1",
            }],
            erase: Erase::Cascade,
            kept: "until removed, or with the account",
        },
    ),
    pg(
        "recovery_codes",
        Data::Personal {
            export: &[Export::Json {
                section: "recovery_codes",
                one: true,
                // How many, never the codes (only their hashes are kept).
                sql: "SELECT count(user_id) FILTER (WHERE used_at IS NULL) AS unused,
                             count(used_at) AS used
                        FROM recovery_codes WHERE user_id = $1",
            }],
            erase: Erase::Cascade,
            kept: "until the authenticator app is removed, or with the account",
        },
    ),
    pg(
        "passkeys",
        Data::Personal {
            export: &[Export::Json {
                section: "passkeys",
                one: false,
                sql: "SELECT name, created_at, last_used_at FROM passkeys
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until removed, or with the account",
        },
    ),
    pg(
        "webauthn_ceremonies",
        Data::Personal {
            export: &[Export::Json {
                section: "passkey_ceremonies",
                one: false,
                sql: "SELECT kind, expires_at FROM webauthn_ceremonies
                       WHERE user_id = $1 ORDER BY expires_at",
            }],
            erase: Erase::Cascade,
            kept: "five minutes (a passkey being added or used); a sign-in's names no account",
        },
    ),
    pg(
        "signin_challenges",
        Data::Personal {
            export: &[Export::Json {
                section: "signin_challenges",
                one: false,
                sql: "SELECT expires_at, attempts FROM signin_challenges
                       WHERE user_id = $1 ORDER BY expires_at",
            }],
            erase: Erase::Cascade,
            kept: "five minutes (the step between the password and the code)",
        },
    ),
    pg(
        "password_resets",
        Data::Personal {
            export: &[Export::Json {
                section: "password_resets",
                one: false,
                sql: "SELECT created_at, expires_at, used_at FROM password_resets
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "email_changes",
        Data::Personal {
            export: &[Export::Json {
                section: "email_changes",
                one: false,
                sql: "SELECT new_email, created_at, expires_at, used_at FROM email_changes
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "email_outbox",
        Data::Personal {
            export: &[Export::Json {
                section: "mail",
                one: false,
                sql: "SELECT kind, to_address, subject,
                             CASE WHEN kind IN ('verify_email', 'password_reset', 'confirm_email_change')
                                  THEN '(the link is left out: it may still work)'
                                  ELSE body END AS body,
                             created_at, sent_at
                        FROM email_outbox WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "api_keys",
        Data::Personal {
            export: &[Export::Json {
                section: "api_keys",
                one: false,
                sql: "SELECT name, prefix, created_at, last_used_at FROM api_keys
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until revoked, or with the account",
        },
    ),
    pg(
        "user_quotas",
        Data::Personal {
            export: &[Export::Json {
                section: "quota_set_by_an_operator",
                one: true,
                sql: "SELECT open_uploads, storage_bytes, daily_upload_bytes, set_by, reason, set_at
                        FROM user_quotas WHERE user_id = $1",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "data_exports",
        Data::Personal {
            export: &[Export::Json {
                section: "data_exports",
                one: false,
                sql: "SELECT id, status, created_at, ready_at, expires_at FROM data_exports
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the archive expires (privacy.export_ttl_hours), or with the account",
        },
    ),
    // --- PostgreSQL: the catalogue -------------------------------------
    pg(
        "uploads",
        Data::Personal {
            export: &[Export::Json {
                section: "uploads",
                one: false,
                sql: "SELECT id, cloudcast_id, filename, title, length, offset_bytes, state, draft,
                             created_at, updated_at, expires_at
                        FROM uploads WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "upload_parts",
        Data::Personal {
            export: &[Export::Withheld(
                "the S3 bookkeeping of an upload's parts; the upload is in `uploads`",
            )],
            erase: Erase::Cascade,
            kept: "until the upload completes or is ended",
        },
    ),
    pg(
        "cloudcasts",
        Data::Personal {
            export: &[Export::Json {
                section: "cloudcasts",
                one: false,
                sql: "SELECT id, title, slug, description, tags, tracklist, purchase_links, status,
                             visibility, secret AS unlisted_secret, publish_at, disable_comments,
                             hide_stats, duration_ms, loudness_lufs, loudness_range_lu,
                             true_peak_dbtp, taken_down_at, takedown_reason, draft, announced_at,
                             downloads, created_at, updated_at
                        FROM cloudcasts WHERE owner_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the DJ deletes it, or with the account",
        },
    ),
    pg(
        "cloudcast_slugs",
        Data::Personal {
            export: &[Export::Json {
                section: "cloudcast_slugs",
                one: false,
                sql: "SELECT cloudcast_id, slug, created_at FROM cloudcast_slugs
                       WHERE owner_id = $1 ORDER BY created_at, slug",
            }],
            erase: Erase::Cascade,
            kept: "with the cloudcast",
        },
    ),
    pg(
        "cloudcast_tags",
        Data::Nobody("a copy of each cloudcast's tags for tag pages (with the cloudcast)"),
    ),
    pg(
        "tag_counts",
        Data::Nobody("how many listed cloudcasts carry each tag"),
    ),
    pg(
        "cloudcast_charts",
        Data::Nobody("plays per cloudcast over 30 and 7 days, for the charts"),
    ),
    pg(
        "podcast_feeds",
        Data::Personal {
            export: &[Export::Json {
                section: "podcast_feed",
                one: true,
                sql: "SELECT guid, enabled, category, explicit, contact_email, updated_at
                        FROM podcast_feeds WHERE user_id = $1",
            }],
            erase: Erase::Cascade,
            kept: "with the account (the contact address until the DJ clears it)",
        },
    ),
    pg(
        "download_requests",
        Data::Nobody(
            "requests for a mix's download: the mix, the time, the app and bytes, and a hash of address and user agent under the day's key (deleted after a day), linked to no account; deleted once copied to ClickHouse (seconds)",
        ),
    ),
    pg(
        "cloudcast_loudness",
        Data::Nobody("a mix's short-term loudness once a second (with the cloudcast)"),
    ),
    pg(
        "related_cloudcasts",
        Data::Nobody(
            "pairs of cloudcasts heard by the same people, counted only from min_audience people up (no person in it)",
        ),
    ),
    pg(
        "renditions",
        Data::Nobody("the transcoded files of a cloudcast and their fragment index"),
    ),
    pg(
        "transcode_jobs",
        Data::Nobody("the queue of transcodes, by cloudcast"),
    ),
    pg(
        "purchase_link_counts",
        Data::Nobody("clicks and purchases per purchase link, never who clicked"),
    ),
    pg(
        "follows",
        Data::Personal {
            export: &[
                Export::Json {
                    section: "following",
                    one: false,
                    sql: "SELECT u.username, f.created_at FROM follows f
                            JOIN users u ON u.id = f.followee_id
                           WHERE f.follower_id = $1 ORDER BY f.created_at",
                },
                Export::Json {
                    section: "followers",
                    one: false,
                    sql: "SELECT u.username, f.created_at FROM follows f
                            JOIN users u ON u.id = f.follower_id
                           WHERE f.followee_id = $1 AND NOT u.is_minor ORDER BY f.created_at",
                },
            ],
            erase: Erase::Cascade,
            kept: "until unfollowed, or with either account",
        },
    ),
    pg(
        "user_blocks",
        Data::Personal {
            export: &[Export::Json {
                section: "blocked",
                one: false,
                sql: "SELECT u.username, b.created_at FROM user_blocks b
                        JOIN users u ON u.id = b.blocked_id
                       WHERE b.blocker_id = $1 ORDER BY b.created_at",
            }],
            erase: Erase::Cascade,
            kept: "until unblocked, or with either account",
        },
    ),
    pg(
        "favourites",
        Data::Personal {
            export: &[Export::Json {
                section: "favourites",
                one: false,
                sql: "SELECT cloudcast_id, created_at FROM favourites
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until removed, or with the account or the cloudcast",
        },
    ),
    pg(
        "favourite_events",
        Data::Personal {
            export: &[Export::Json {
                section: "favourite_history",
                one: false,
                sql: "SELECT cloudcast_id, delta, at FROM favourite_events
                       WHERE user_id = $1 ORDER BY id",
            }],
            erase: Erase::Statement("DELETE FROM favourite_events WHERE cloudcast_id = ANY($1)"),
            kept: "with the account; others' events about its cloudcasts go with them",
        },
    ),
    pg(
        "follow_events",
        Data::Personal {
            export: &[Export::Json {
                section: "follow_history",
                one: false,
                sql: "SELECT u.username AS followed, e.delta, e.at FROM follow_events e
                        JOIN users u ON u.id = e.followee_id
                       WHERE e.user_id = $1 ORDER BY e.id",
            }],
            erase: Erase::Cascade,
            kept: "with the account, and with the account followed (a DJ's followers over time)",
        },
    ),
    pg(
        "reposts",
        Data::Personal {
            export: &[Export::Json {
                section: "reposts",
                one: false,
                sql: "SELECT cloudcast_id, created_at FROM reposts
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until removed, or with the account or the cloudcast",
        },
    ),
    pg(
        "repost_events",
        Data::Personal {
            export: &[Export::Json {
                section: "repost_history",
                one: false,
                sql: "SELECT cloudcast_id, delta, at FROM repost_events
                       WHERE user_id = $1 ORDER BY id",
            }],
            erase: Erase::Statement("DELETE FROM repost_events WHERE cloudcast_id = ANY($1)"),
            kept: "with the account; others' events about its cloudcasts go with them",
        },
    ),
    pg(
        "listen_later",
        Data::Personal {
            export: &[Export::Json {
                section: "listen_later",
                one: false,
                sql: "SELECT cloudcast_id, created_at FROM listen_later
                       WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until removed, or with the account or the cloudcast",
        },
    ),
    pg(
        "playlists",
        Data::Personal {
            export: &[Export::Json {
                section: "playlists",
                one: false,
                sql: "SELECT id, title, description, visibility, created_at, updated_at
                        FROM playlists WHERE owner_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until deleted, or with the account",
        },
    ),
    pg(
        "playlist_items",
        Data::Personal {
            export: &[Export::Json {
                section: "playlist_items",
                one: false,
                sql: "SELECT i.playlist_id, i.cloudcast_id, i.position, i.added_at
                        FROM playlist_items i JOIN playlists p ON p.id = i.playlist_id
                       WHERE p.owner_id = $1 ORDER BY i.playlist_id, i.position",
            }],
            erase: Erase::Cascade,
            kept: "with its playlist; a mix deleted or erased leaves it",
        },
    ),
    pg(
        "comments",
        Data::Personal {
            export: &[Export::Json {
                section: "comments",
                one: false,
                sql: "SELECT c.id, c.cloudcast_id, pu.username AS profile, c.parent_id, c.position_ms,
                             c.body, c.status, c.held_reason, c.created_at, c.moderated_at
                        FROM comments c LEFT JOIN users pu ON pu.id = c.profile_id
                       WHERE c.author_id = $1 ORDER BY c.created_at",
            }],
            erase: Erase::Cascade,
            kept: "until deleted, or with the account or the cloudcast",
        },
    ),
    pg(
        "notifications",
        Data::Personal {
            export: &[Export::Json {
                section: "notifications",
                one: false,
                // Who caused each is theirs, not mine: counted, not named.
                sql: "SELECT n.kind, c.title AS cloudcast, n.detail, n.first_at, n.last_at, n.read_at, n.mailed_at,
                             (SELECT count(e.actor_id) FROM notification_events e WHERE e.notification_id = n.id) AS people
                        FROM notifications n LEFT JOIN cloudcasts c ON c.id = n.cloudcast_id
                       WHERE n.recipient_id = $1 ORDER BY n.first_at",
            }],
            erase: Erase::Cascade,
            kept: "while the account lives (a person may mark them read, not delete them)",
        },
    ),
    pg(
        "notification_events",
        Data::Personal {
            export: &[Export::Json {
                section: "notified_by_me",
                one: false,
                sql: "SELECT n.kind, e.at FROM notification_events e
                        JOIN notifications n ON n.id = e.notification_id
                       WHERE e.actor_id = $1 ORDER BY e.at",
            }],
            erase: Erase::Cascade,
            kept: "while the notification (its recipient's account) and the account that caused it live",
        },
    ),
    pg(
        "notification_settings",
        Data::Personal {
            export: &[Export::Json {
                section: "notification_settings",
                one: false,
                sql: "SELECT kind, delivery, updated_at FROM notification_settings
                       WHERE user_id = $1 ORDER BY kind",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "notification_digests",
        Data::Personal {
            export: &[Export::Json {
                section: "notification_digests",
                one: false,
                sql: "SELECT cadence, sent_at FROM notification_digests WHERE user_id = $1 ORDER BY cadence",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "comment_reports",
        Data::Personal {
            export: &[Export::Json {
                section: "comment_reports",
                one: false,
                sql: "SELECT comment_id, reason, created_at FROM comment_reports
                       WHERE reporter_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "until the comment is decided or deleted, or with the account",
        },
    ),
    pg(
        "cloudcast_reports",
        Data::Personal {
            export: &[
                Export::Json {
                    section: "cloudcast_reports",
                    one: false,
                    sql: "SELECT id, cloudcast_id, kind, reason, notifier_name, notifier_email, work,
                                 good_faith, status, decision_note, created_at, decided_at
                            FROM cloudcast_reports WHERE reporter_id = $1 ORDER BY created_at",
                },
                // Reports on my cloudcasts and what was decided; who sent
                // them is theirs, not mine.
                Export::Json {
                    section: "reports_on_my_cloudcasts",
                    one: false,
                    sql: "SELECT r.cloudcast_id, r.kind, r.reason, r.status, r.decision_note,
                                 r.created_at, r.decided_at
                            FROM cloudcast_reports r JOIN cloudcasts c ON c.id = r.cloudcast_id
                           WHERE c.owner_id = $1 ORDER BY r.created_at",
                },
            ],
            erase: Erase::Cascade,
            kept: "with the reporter's account and with the cloudcast",
        },
    ),
    pg(
        "counter_notices",
        Data::Personal {
            export: &[Export::Json {
                section: "counter_notices",
                one: false,
                sql: "SELECT id, cloudcast_id, statement, status, decision_note, created_at, decided_at
                        FROM counter_notices WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: "with the account and the cloudcast",
        },
    ),
    // --- PostgreSQL: policies, the contact page, decisions on accounts --
    pg(
        "policy_versions",
        Data::Nobody("the text of each version of the privacy policy and the terms"),
    ),
    pg(
        "policy_showings",
        Data::Personal {
            export: &[Export::Json {
                section: "policies_shown",
                one: false,
                sql: "SELECT kind, version, via, shown_at FROM policy_showings
                       WHERE user_id = $1 ORDER BY shown_at, id",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "policy_acceptances",
        Data::Personal {
            export: &[Export::Json {
                section: "terms_accepted",
                one: false,
                sql: "SELECT kind, version, accepted_at FROM policy_acceptances
                       WHERE user_id = $1 ORDER BY accepted_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    pg(
        "contact_cases",
        Data::Personal {
            // What I sent; cases about my account are the senders', and
            // reach me as decisions.
            export: &[Export::Json {
                section: "contact_messages",
                one: false,
                sql: "SELECT k.id, k.topic, s.username AS about_account, k.name, k.email,
                             k.message, k.status, k.answer, k.created_at, k.closed_at
                        FROM contact_cases k LEFT JOIN users s ON s.id = k.subject_id
                       WHERE k.reporter_id = $1 ORDER BY k.created_at",
            }],
            erase: Erase::Cascade,
            kept: "with the sender's account and the account reported; a sender's name and address until 30 days after the case closes (moderation.contact_kept_secs)",
        },
    ),
    pg(
        "account_decisions",
        Data::Personal {
            export: &[Export::Json {
                section: "decisions_on_my_account",
                one: false,
                sql: "SELECT id, action, reasons, until, erase_after, state, created_at, ended_at
                        FROM account_decisions WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Kept(
                "the record of a decision (DSA Art. 17, 24) outlives the account without naming it: its user_id is cleared",
            ),
            kept: "the record, for good; the account's id until it is erased",
        },
    ),
    pg(
        "account_appeals",
        Data::Personal {
            export: &[Export::Json {
                section: "appeals",
                one: false,
                sql: "SELECT id, decision_id, statement, status, answer, created_at, decided_at
                        FROM account_appeals WHERE user_id = $1 ORDER BY created_at",
            }],
            erase: Erase::Cascade,
            kept: WITH_ACCOUNT,
        },
    ),
    // --- PostgreSQL: privacy and the system ----------------------------
    pg(
        "erased_accounts",
        Data::Personal {
            export: &[Export::Withheld("the bare id of an account that no longer exists")],
            erase: Erase::Kept(
                "the id alone, so late heartbeats of an erased account are dropped; 30 days",
            ),
            kept: "30 days after the erasure (analytics/src/tombstones.rs::KEEP_DAYS)",
        },
    ),
    pg(
        "analytics_purges",
        Data::Personal {
            export: &[Export::Withheld("the queue of removals still to apply to ClickHouse")],
            erase: Erase::Kept(
                "the removal of the account's own rows; done within the erasure window and again five minutes later",
            ),
            kept: "until applied (privacy.erasure_window_secs, and five minutes later again)",
        },
    ),
    pg(
        "disclosures",
        Data::Personal {
            export: &[Export::Withheld(
                "the record of a disclosure compelled by law, for the operator",
            )],
            erase: Erase::Kept("the legal record of who was given what, when and why"),
            kept: "as the law that compelled the disclosure requires",
        },
    ),
    pg(
        "rate_limits",
        Data::Nobody("keyed hashes of an account id, an address or a key, and a time"),
    ),
    pg("server_secrets", Data::Nobody("keys the nodes share")),
    pg(
        "ip_hash_keys",
        Data::Nobody("the day's key for address hashes, deleted the day after"),
    ),
    pg("_sqlx_migrations", Data::Nobody("the migrations applied")),
];
